import Foundation
import RepositoryCore
import TestSupport
import Testing

@Suite("Faults and bad input")
struct FaultTests {
    @Test("a wrong password is refused and changes nothing")
    func wrongPassword() async throws {
        let store = InMemoryBlobStore()
        _ = try await TestRepository.make(store: store)
        let before = try await Self.inventory(store)
        await #expect(throws: RepositoryError(.wrongPassword, "")) {
            _ = try await Repository.open(
                store: store, password: Array("wrong".utf8), logger: TestRepository.logger)
        }
        #expect(try await Self.inventory(store) == before)
    }

    @Test("a store without a repository, or an unknown format version, is refused")
    func versions() async throws {
        let empty = InMemoryBlobStore()
        await #expect(throws: RepositoryError(.notARepository, "")) {
            _ = try await Repository.open(
                store: empty, password: TestRepository.password, logger: TestRepository.logger)
        }
        let store = InMemoryBlobStore()
        _ = try await TestRepository.make(store: store)
        store.tamper(.config) { bytes in
            bytes = Array(
                String(decoding: bytes, as: UTF8.self).replacingOccurrences(
                    of: "\"version\":1", with: "\"version\":99"
                ).utf8)
        }
        await #expect(throws: RepositoryError(.unsupportedVersion, "")) {
            _ = try await Repository.open(
                store: store, password: TestRepository.password, logger: TestRepository.logger)
        }
        await #expect(throws: RepositoryError(.alreadyInitialized, "")) {
            _ = try await TestRepository.make(store: store)
        }
    }

    @Test("a flipped byte in a pack is found by check and fails the restore")
    func flippedByte() async throws {
        let store = InMemoryBlobStore()
        let repository = try await TestRepository.make(store: store)
        var random = SeededRandom(seed: 21)
        let damagedData = random.dumpLikeText(3_000_000)
        let victim = try await TestRepository.backup(repository, damagedData, component: "victim")
            .snapshot
        let bystander = try await TestRepository.backup(
            repository, random.bytes(500_000), component: "bystander"
        ).snapshot
        let (index, _, _) = try await repository.loadIndex()
        let location = try #require(index.location(of: victim.chunks[victim.chunks.count / 2]))
        store.tamper(ObjectName(.data, location.pack.description)) {
            $0[location.entry.offset + 40] ^= 0x08
        }

        #expect(try await repository.check().isHealthy, "structure alone cannot see a flipped byte")
        let report = try await repository.check(reading: .all)
        #expect(!report.isHealthy)
        #expect(report.problems.contains { $0.kind == .damagedPack && $0.pack == location.pack })
        #expect(
            report.problems.contains {
                $0.kind == .damagedChunk && $0.chunk == location.entry.id
                    && $0.pack == location.pack
            })
        #expect(report.affectedSnapshots == [victim.id])
        #expect(!report.affectedSnapshots.contains(bystander.id))

        var emitted: [UInt8] = []
        await #expect(throws: RepositoryError(.integrity, "")) {
            try await repository.restore(
                victim, index: index, to: { emitted.append(contentsOf: $0) })
        }
        #expect(
            Array(damagedData.prefix(emitted.count)) == emitted, "only verified bytes were emitted")
        #expect(emitted.count < damagedData.count)
        #expect(try await TestRepository.restore(repository, bystander).count == 500_000)
    }

    @Test("truncated and foreign files give clear errors, not crashes")
    func truncatedAndForeign() async throws {
        let store = InMemoryBlobStore()
        let repository = try await TestRepository.make(store: store)
        var random = SeededRandom(seed: 22)
        let snapshot = try await TestRepository.backup(repository, random.dumpLikeText(1_500_000))
            .snapshot
        let pack = try #require(try await store.list(.data).first?.name)
        store.tamper(pack) { $0.removeLast($0.count / 2) }
        try await store.put(ObjectName(.data, "zz-not-a-pack"), Array("hello".utf8))
        try await store.put(ObjectName(.snapshots, "foreign"), Array("{}".utf8))
        try await store.put(ObjectName(.index, String(repeating: "ab", count: 32)), [1, 2, 3])

        let report = try await repository.check(reading: .all)
        #expect(!report.isHealthy)
        #expect(report.problems.contains { $0.kind == .packSize })
        #expect(report.problems.contains { $0.kind == .damagedPack })
        #expect(report.problems.contains { $0.kind == .unreadableSnapshot })
        #expect(report.problems.contains { $0.kind == .unreadableIndex })
        #expect(report.notes.contains { $0.contains("foreign file") })
        #expect(report.affectedSnapshots == [snapshot.id])
        await #expect(throws: RepositoryError.self) {
            _ = try await TestRepository.restore(repository, snapshot)
        }
        await #expect(throws: RepositoryError(.integrity, "")) { _ = try await repository.prune() }
    }

    /// Both ways in: blocks of an async sequence (agents) and reads in place (`repo backup`).
    @Test(
        "a dump that fails midway records no snapshot and deletes the packs it wrote",
        arguments: [false, true])
    func failingDump(readInPlace: Bool) async throws {
        let store = InMemoryBlobStore()
        let repository = try await TestRepository.make(store: store)
        var random = SeededRandom(seed: 23)
        let blocks = (0..<30).map { _ in random.bytes(100_000) }
        let request = BackupRequest(agent: "a", component: "c")
        await #expect(throws: FailingDump.DumpFailed.self) {
            if readInPlace {
                let reader = BytesReader(bytes: Array(blocks.joined()), failingAfter: 2_900_000)
                _ = try await repository.backup(reading: reader, request: request)
            } else {
                _ = try await repository.backup(FailingDump(blocks: blocks), request: request)
            }
        }
        try await Self.expectCleanAfterFailure(repository, store: store)
    }

    @Test(
        "a full store fails the backup cleanly and frees its packs; the next backup works",
        arguments: [0, 1, 2])
    func noSpace(failAfter: Int) async throws {
        let (repository, store, memory) = try await TestRepository.makeWithFaults()
        store.fail(
            .put, kind: .data, after: failAfter,
            with: StorageError(.noSpace, "No space left on device"))
        var random = SeededRandom(seed: 24)
        await #expect(throws: RepositoryError(.storage, "")) {
            _ = try await TestRepository.backup(repository, random.bytes(4_000_000))
        }
        try await Self.expectCleanAfterFailure(repository, store: memory)
    }

    /// An index object whose write seemed to fail may have landed: its packs must stay.
    @Test("an index write failure leaves no snapshot and keeps the packs for prune")
    func indexWriteFails() async throws {
        let (repository, store, memory) = try await TestRepository.makeWithFaults()
        store.fail(.put, kind: .index, with: StorageError(.noSpace, "full"))
        var random = SeededRandom(seed: 25)
        await #expect(throws: StorageError(.noSpace, "")) {
            _ = try await TestRepository.backup(repository, random.bytes(2_000_000))
        }
        try await Self.expectCleanAfterFailure(repository, store: memory, packsDeleted: false)
    }

    /// - Parameter packsDeleted: whether the failed backup must have deleted its packs.
    static func expectCleanAfterFailure(
        _ repository: Repository, store: InMemoryBlobStore, packsDeleted: Bool = true
    ) async throws {
        #expect(try await store.list(.data).isEmpty == packsDeleted)
        #expect(try await repository.loadSnapshots().snapshots.isEmpty)
        #expect(try await store.list(.locks).isEmpty, "the lock was released")
        #expect(try await repository.check(reading: .all).isHealthy)
        var random = SeededRandom(seed: 99)
        let data = random.dumpLikeText(1_000_000)
        let next = try await TestRepository.backup(repository, data).snapshot
        #expect(try await TestRepository.restore(repository, next) == data)
        let leftovers = try await store.list(.data).count
        let report = try await repository.prune()
        #expect(report.packsDeleted > 0 || leftovers == report.plan.keep.count)
        let (index, _, _) = try await repository.loadIndex()
        #expect(try await store.list(.data).count == index.packCount, "no unindexed packs remain")
        #expect(try await repository.check(reading: .all).isHealthy)
        #expect(try await TestRepository.restore(repository, next) == data)
    }

    static func inventory(_ store: any BlobStore) async throws -> [ObjectInfo] {
        var all: [ObjectInfo] = []
        for kind in ObjectKind.allCases { all += try await store.list(kind) }
        return all.sorted { $0.name.path < $1.name.path }
    }
}

@Suite("Index rebuild")
struct RebuildIndexTests {
    @Test("a lost index is rebuilt from pack headers alone")
    func rebuildFromPacks() async throws {
        let store = InMemoryBlobStore()
        let repository = try await TestRepository.make(store: store)
        var random = SeededRandom(seed: 41)
        let first = random.dumpLikeText(2_000_000)
        let second = random.bytes(1_000_000)
        let a = try await TestRepository.backup(repository, first).snapshot
        let b = try await TestRepository.backup(repository, second).snapshot
        for info in try await store.list(.index) { try await store.delete(info.name) }
        try await store.put(
            ObjectName(.data, String(repeating: "cd", count: 32)), Array("junk".utf8))
        #expect(try await !repository.check().isHealthy, "chunks are unindexed")

        let report = try await repository.rebuildIndex()
        #expect(
            report.unreadablePacks.map(\.pack.description) == [String(repeating: "cd", count: 32)])
        #expect(report.packsIndexed == (try await store.list(.data).count) - 1)
        #expect(try await TestRepository.restore(repository, a) == first)
        #expect(try await TestRepository.restore(repository, b) == second)
        let check = try await repository.check(reading: .all)
        #expect(
            check.problems.allSatisfy { $0.pack?.description == String(repeating: "cd", count: 32) }
        )
    }
}

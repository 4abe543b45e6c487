import Foundation
import RepositoryCore
import TestSupport
import Testing

@Suite("Repository: backup, restore, dedup")
struct RepositoryTests {
    @Test(
        "backup then restore returns the same bytes", arguments: [0, 1, 1000, 200_000, 3_000_000])
    func roundTrip(size: Int) async throws {
        let repository = try await TestRepository.make()
        var random = SeededRandom(seed: UInt64(size))
        let data = random.dumpLikeText(size)
        let result = try await TestRepository.backup(repository, data, blockSize: 1 + size / 7)
        #expect(result.snapshot.size == size)
        #expect(try await TestRepository.restore(repository, result.snapshot) == data)
        let reopened = try await Repository.open(
            store: repository.store, password: TestRepository.password,
            logger: TestRepository.logger)
        let (snapshots, _) = try await reopened.loadSnapshots()
        #expect(snapshots.map(\.id) == [result.snapshot.id])
        #expect(try await TestRepository.restore(reopened, snapshots[0]) == data)
    }

    @Test("the same data twice is stored once", arguments: SeededRandom.seeds(fixed: [7, 8]))
    func dedup(seed: UInt64) async throws {
        let repository = try await TestRepository.make()
        var random = SeededRandom(seed: seed)
        let data = random.bytes(2_000_000)
        let first = try await TestRepository.backup(repository, data)
        let packsAfterFirst = try await repository.store.list(.data).count
        let second = try await TestRepository.backup(repository, data, blockSize: 33_333)
        #expect(second.newChunks == 0)
        #expect(second.snapshot.bytesAdded == 0)
        #expect(try await repository.store.list(.data).count == packsAfterFirst)
        #expect(first.snapshot.chunks == second.snapshot.chunks)
        #expect(first.snapshot.id != second.snapshot.id)
    }

    @Test("a dump read in place gives the snapshot of the same dump read in blocks")
    func readInPlace() async throws {
        let repository = try await TestRepository.make()
        var random = SeededRandom(seed: 12)
        let data = random.dumpLikeText(3_500_000)
        let inBlocks = try await TestRepository.backup(repository, data, blockSize: 77_777)
        let inPlace = try await repository.backup(
            reading: BytesReader(bytes: data),
            request: BackupRequest(agent: "test", component: "db"))
        #expect(inPlace.snapshot.chunks == inBlocks.snapshot.chunks)
        #expect(inPlace.snapshot.size == data.count)
        #expect(inPlace.newChunks == 0)
        #expect(try await TestRepository.restore(repository, inPlace.snapshot) == data)
    }

    @Test("a small edit stores little")
    func smallEdit() async throws {
        let repository = try await TestRepository.make()
        var random = SeededRandom(seed: 11)
        var data = random.dumpLikeText(3_000_000)
        let first = try await TestRepository.backup(repository, data)
        data.replaceSubrange(1_500_000..<1_500_010, with: Array("EDITED ROW".utf8))
        let second = try await TestRepository.backup(repository, data)
        #expect(second.newChunks < 10, "an edit shifts at most a few boundaries")
        #expect(second.snapshot.bytesAdded < first.snapshot.bytesAdded / 5)
        #expect(try await TestRepository.restore(repository, second.snapshot) == data)
    }

    @Test("compressible data is stored compressed, random data is not inflated")
    func compression() async throws {
        let repository = try await TestRepository.make()
        var random = SeededRandom(seed: 12)
        let text = try await TestRepository.backup(repository, random.dumpLikeText(2_000_000))
        #expect(text.snapshot.bytesAdded < 2_000_000 / 2)
        let noise = try await TestRepository.backup(repository, random.bytes(2_000_000))
        #expect(noise.snapshot.bytesAdded < 2_000_000 + 2_000_000 / 100)
    }

    @Test("two backups running at once both restore bit-identical")
    func concurrentBackups() async throws {
        let repository = try await TestRepository.make()
        var random = SeededRandom(seed: 13)
        let shared = random.dumpLikeText(1_000_000)
        let a = shared + random.dumpLikeText(1_500_000)
        let b = shared + random.bytes(1_500_000)
        async let first = TestRepository.backup(repository, a, component: "a")
        async let second = TestRepository.backup(repository, b, component: "b")
        let (resultA, resultB) = try await (first, second)
        #expect(try await TestRepository.restore(repository, resultA.snapshot) == a)
        #expect(try await TestRepository.restore(repository, resultB.snapshot) == b)
        #expect(try await repository.check(reading: .all).isHealthy)
    }

    @Test("snapshots are selected by ID, prefix or latest with filters")
    func selection() async throws {
        let repository = try await TestRepository.make()
        let a = try await TestRepository.backup(repository, [1, 2, 3], component: "a").snapshot
        let b = try await TestRepository.backup(repository, [4, 5, 6], component: "b").snapshot
        let (all, _) = try await repository.loadSnapshots()
        #expect(try SnapshotSelector("latest").resolve(in: all).id == b.id)
        #expect(try SnapshotSelector("latest", component: "a").resolve(in: all).id == a.id)
        #expect(
            try SnapshotSelector(String(a.id.description.prefix(12))).resolve(in: all).id == a.id)
        #expect(try SnapshotSelector(a.id.description.uppercased()).resolve(in: all).id == a.id)
        #expect(throws: RepositoryError(.snapshotNotFound, "")) {
            try SnapshotSelector("latest", agent: "nobody").resolve(in: all)
        }
        #expect(throws: RepositoryError(.invalidArgument, "")) {
            try SnapshotSelector("not-an-id").resolve(in: all)
        }
        #expect(throws: RepositoryError(.ambiguousSnapshot, "")) {
            try SnapshotSelector(a.id.description).resolve(in: all + all)
        }
    }

    @Test("stats count logical, unique and stored bytes")
    func stats() async throws {
        let repository = try await TestRepository.make()
        var random = SeededRandom(seed: 14)
        let data = random.dumpLikeText(1_000_000)
        _ = try await TestRepository.backup(repository, data)
        _ = try await TestRepository.backup(repository, data)
        let stats = try await repository.stats()
        #expect(stats.snapshots == 2)
        #expect(stats.logicalBytes == 2_000_000)
        #expect(stats.uniqueBytes == 1_000_000)
        #expect(abs(stats.deduplicationRatio - 2) < 0.001)
        #expect(stats.compressionRatio > 1.5)
    }
}

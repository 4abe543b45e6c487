import RepositoryCore
import Synchronization
import TestSupport
import Testing

/// Copying snapshots between tiers of one repository (DESIGN, "Tiers and retention").
@Suite("Copy between tiers")
struct CopyTests {
    /// A source with two snapshots that share most of their data.
    func source() async throws -> (Repository, [UInt8], [UInt8]) {
        let repository = try await TestRepository.make()
        var random = SeededRandom(seed: 11)
        let first = random.bytes(3_000_000)
        var second = first
        second.replaceSubrange(1_000_000..<1_200_000, with: random.bytes(200_000))
        _ = try await TestRepository.backup(repository, first)
        _ = try await TestRepository.backup(repository, second)
        return (repository, first, second)
    }

    @Test("a copy restores identically from the tier; a second copy moves nothing")
    func copyAll() async throws {
        let (repository, first, second) = try await source()
        let tier = try await repository.tier(on: InMemoryBlobStore(name: "tier"), creating: true)
        let report = try await repository.copySnapshots(nil, to: tier)
        #expect(report.snapshotsCopied.count == 2)
        #expect(report.packsCopied == report.packsPlanned && report.packsCopied > 0)
        #expect(report.packsCopied == (try await repository.store.list(.data)).count)

        let copies = try await tier.loadSnapshots().snapshots
        #expect(copies.map(\.id) == (try await repository.loadSnapshots().snapshots.map(\.id)))
        #expect(try await TestRepository.restore(tier, copies[0]) == first)
        #expect(try await TestRepository.restore(tier, copies[1]) == second)
        #expect(try await tier.check(reading: .all).isHealthy)

        let again = try await repository.copySnapshots(nil, to: tier)
        #expect(again.snapshotsCopied.isEmpty && again.snapshotsPresent == 2)
        #expect(again.packsPlanned == 0)
    }

    @Test("a new snapshot moves only the packs the tier lacks")
    func incremental() async throws {
        let (repository, _, second) = try await source()
        let tier = try await repository.tier(on: InMemoryBlobStore(name: "tier"), creating: true)
        let before = try await repository.copySnapshots(nil, to: tier)
        var third = second
        var random = SeededRandom(seed: 99)
        third.append(contentsOf: random.bytes(300_000))
        let added = try await TestRepository.backup(repository, third)
        let report = try await repository.copySnapshots([added.snapshot.id], to: tier)
        #expect(report.snapshotsCopied == [added.snapshot.id])
        #expect(report.packsCopied >= 1 && report.packsCopied < before.packsCopied)
        #expect(report.bytesCopied < 1_000_000)
        #expect(try await TestRepository.restore(tier, added.snapshot) == third)
    }

    @Test("an interrupted copy leaves no snapshot and resumes without sending packs twice")
    func resume() async throws {
        let (repository, first, _) = try await source()
        let faulty = FaultyBlobStore(InMemoryBlobStore(name: "tier"))
        let tier = try await repository.tier(on: faulty, creating: true)
        faulty.fail(.put, kind: .data, after: 2, with: StorageError(.permanent, "disk gone"))
        await #expect(throws: StorageError.self) {
            _ = try await repository.copySnapshots(nil, to: tier)
        }
        #expect(try await tier.loadSnapshots().snapshots.isEmpty)
        let landed = try await faulty.list(.data).count
        #expect(landed >= 2)

        let report = try await repository.copySnapshots(nil, to: tier)
        #expect(report.packsResumed == landed)
        #expect(report.packsCopied + report.packsResumed == report.packsPlanned)
        let copies = try await tier.loadSnapshots().snapshots
        #expect(try await TestRepository.restore(tier, copies[0]) == first)
        #expect(try await tier.check(reading: .all).isHealthy)
    }

    @Test("transient faults are retried: every pack lands exactly once")
    func transientFaults() async throws {
        let (repository, _, second) = try await source()
        let faulty = FaultyBlobStore(InMemoryBlobStore(name: "tier"))
        for after in [0, 1] {
            faulty.fail(.put, kind: .data, after: after, with: StorageError(.transient, "503"))
        }
        // The second listing of data/ is the check of the copied packs' sizes.
        faulty.fail(
            .list, kind: .data, after: 1, with: StorageError(.transient, "connection reset"))
        let retrying = RetryingBlobStore(
            faulty, policy: .init(attempts: 4, initialDelay: .milliseconds(1)),
            logger: TestRepository.logger)
        let tier = try await repository.tier(on: retrying, creating: true)
        let report = try await repository.copySnapshots(nil, to: tier)
        #expect(faulty.clearFaults() == 0, "every injected fault fired")
        #expect(report.packsCopied == (try await repository.store.list(.data)).count)
        #expect(try await faulty.list(.data).count == report.packsCopied)
        let copies = try await tier.loadSnapshots().snapshots
        #expect(try await TestRepository.restore(tier, copies[1]) == second)
    }

    @Test("a tier that stores a pack short is caught before any snapshot appears there")
    func shortWrite() async throws {
        let (repository, _, _) = try await source()
        let tier = try await repository.tier(
            on: ShortWritingStore(InMemoryBlobStore(name: "tier")), creating: true)
        let error = await #expect(throws: RepositoryError.self) {
            _ = try await repository.copySnapshots(nil, to: tier)
        }
        #expect(error?.code == .integrity)
        #expect(error?.message.contains("delete it there and copy again") == true)
        #expect(try await tier.store.list(.snapshots).isEmpty)
        #expect(try await tier.store.list(.index).isEmpty)
    }

    @Test("a damaged source pack is refused and no snapshot needing it reaches the tier")
    func damagedSource() async throws {
        let store = InMemoryBlobStore()
        let repository = try await TestRepository.make(store: store)
        var random = SeededRandom(seed: 3)
        _ = try await TestRepository.backup(repository, random.bytes(500_000))
        let pack = try await store.list(.data)[0].name
        store.tamper(pack) { $0[$0.count / 2] ^= 0x01 }
        let tier = try await repository.tier(on: InMemoryBlobStore(name: "tier"), creating: true)
        let error = await #expect(throws: RepositoryError.self) {
            _ = try await repository.copySnapshots(nil, to: tier)
        }
        #expect(error?.code == .integrity)
        #expect(try await tier.loadSnapshots().snapshots.isEmpty)
    }

    @Test("a store holding another repository is not made a tier; unknown snapshots are named")
    func refusals() async throws {
        let (repository, _, _) = try await source()
        let other = InMemoryBlobStore(name: "other")
        _ = try await TestRepository.make(store: other)
        let foreign = await #expect(throws: RepositoryError.self) {
            _ = try await repository.tier(on: other, creating: true)
        }
        #expect(foreign?.code == .invalidArgument)
        let empty = await #expect(throws: RepositoryError.self) {
            _ = try await repository.tier(on: InMemoryBlobStore(), creating: false)
        }
        #expect(empty?.code == .notARepository)

        let tier = try await repository.tier(on: InMemoryBlobStore(name: "tier"), creating: true)
        let unknown = SnapshotID(Digest256(hex: String(repeating: "ab", count: 32))!)
        let missing = await #expect(throws: RepositoryError.self) {
            _ = try await repository.copySnapshots([unknown], to: tier)
        }
        #expect(missing?.code == .snapshotNotFound)
    }

    @Test("a snapshot forgotten on tier 1 still restores from the tier that keeps it")
    func forgottenLocally() async throws {
        let (repository, first, _) = try await source()
        let tier = try await repository.tier(on: InMemoryBlobStore(name: "tier"), creating: true)
        _ = try await repository.copySnapshots(nil, to: tier)
        let oldest = try await repository.loadSnapshots().snapshots[0]
        try await repository.forget([oldest.id])
        _ = try await repository.prune()
        #expect(try await tier.loadSnapshots().snapshots.contains { $0.id == oldest.id })
        #expect(try await TestRepository.restore(tier, oldest) == first)
        let reopened = try await Repository.open(
            store: tier.store, password: TestRepository.password, logger: TestRepository.logger)
        #expect(try await TestRepository.restore(reopened, oldest) == first)
    }

    @Test("only ciphertext reaches a tier: no object contains the dump's marker")
    func onlyCiphertext() async throws {
        let repository = try await TestRepository.make()
        let marker = Array("ZENTORIA-PLAINTEXT-MARKER-7f3a".utf8)
        // Random bytes do not compress, so chunks are stored uncompressed: without
        // encryption the marker would be there verbatim.
        var random = SeededRandom(seed: 21)
        var dump: [UInt8] = []
        for _ in 0..<40 { dump += marker + random.bytes(50_000) }
        _ = try await TestRepository.backup(repository, dump)
        let store = InMemoryBlobStore(name: "tier")
        let tier = try await repository.tier(on: store, creating: true)
        _ = try await repository.copySnapshots(nil, to: tier)
        #expect(try await ObjectScan.objects(in: store, containing: marker).isEmpty)
        #expect(try await ObjectScan.objects(in: store, containing: []).count > 3)
    }

    @Test("a chunk damaged or missing on tier 1 is read from another tier")
    func fallbackRead() async throws {
        let store = InMemoryBlobStore()
        let repository = try await TestRepository.make(store: store)
        var random = SeededRandom(seed: 13)
        let dump = random.bytes(2_000_000)
        let snapshot = try await TestRepository.backup(repository, dump).snapshot
        let tier = try await repository.tier(on: InMemoryBlobStore(name: "tier"), creating: true)
        _ = try await repository.copySnapshots(nil, to: tier)
        let packs = try await store.list(.data).map(\.name)
        store.tamper(packs[0]) { $0[100] ^= 0x40 }
        try await store.delete(packs[1])

        let (index, _, _) = try await repository.loadIndex()
        await #expect(throws: RepositoryError.self) {
            try await repository.restore(snapshot, index: index, to: { _ in })
        }
        let (tierIndex, _, _) = try await tier.loadIndex()
        let fallbacks = Counter()
        var restored: [UInt8] = []
        try await repository.restore(
            snapshot, index: index,
            fallback: { id in
                fallbacks.increment()
                return await tier.readChunkIfIntact(id, index: tierIndex)
            },
            to: { restored += $0 })
        #expect(restored == dump)
        #expect(fallbacks.value >= 2)

        // A fallback that has nothing better still fails the restore.
        await #expect(throws: RepositoryError.self) {
            try await repository.restore(
                snapshot, index: index, fallback: { _ in nil }, to: { _ in })
        }
    }
}

/// A thread-safe counter for closures that must be Sendable.
final class Counter: Sendable {
    private let count = Mutex(0)
    func increment() { count.withLock { $0 += 1 } }
    var value: Int { count.withLock { $0 } }
}

@Suite("Repair from another tier")
struct RepairTests {
    @Test("check --read-data finds damage; repair replaces it from a tier; check is clean")
    func repairFromTier() async throws {
        let store = InMemoryBlobStore()
        let repository = try await TestRepository.make(store: store)
        var random = SeededRandom(seed: 17)
        let dump = random.bytes(2_500_000)
        let snapshot = try await TestRepository.backup(repository, dump).snapshot
        let tierStore = InMemoryBlobStore(name: "minio")
        let tier = try await repository.tier(on: tierStore, creating: true)
        _ = try await repository.copySnapshots(nil, to: tier)

        let packs = try await store.list(.data).map(\.name)
        store.tamper(packs[0]) { $0[$0.count / 3] ^= 0x08 }
        try await store.delete(packs[1])
        // A third pack damaged on both tiers cannot be repaired.
        store.tamper(packs[2]) { $0[10] ^= 0x01 }
        tierStore.tamper(packs[2]) { $0[10] ^= 0x01 }

        let damaged = try await repository.check(reading: .all)
        #expect(!damaged.isHealthy)
        let objects = Repository.repairableObjects(in: damaged)
        #expect(Set(objects) == Set(packs[0...2]))
        let report = try await repository.repair(objects, from: [tier])
        #expect(Set(report.replaced.map(\.object)) == [packs[0], packs[1]])
        #expect(report.replaced.allSatisfy { $0.from == "minio" })
        #expect(report.unrepairable == [packs[2]])

        // Only the pack no tier holds intact is still damaged; the snapshot needs it.
        let after = try await repository.check(reading: .all)
        #expect(!after.problems.isEmpty)
        #expect(after.problems.allSatisfy { $0.pack == PackID(Digest256(hex: packs[2].name)!) })
        #expect(after.affectedSnapshots == [snapshot.id])
    }
}

/// Loses the last byte of every data object it stores, and says nothing: a broken backend.
struct ShortWritingStore: BlobStore {
    let base: InMemoryBlobStore
    init(_ base: InMemoryBlobStore) { self.base = base }
    var name: String { base.name }
    var maxConcurrentRequests: Int { base.maxConcurrentRequests }
    func put(_ name: ObjectName, _ bytes: [UInt8]) async throws {
        try await base.put(name, name.kind == .data ? Array(bytes.dropLast()) : bytes)
    }
    func get(_ name: ObjectName, range: Range<Int>?) async throws -> [UInt8] {
        try await base.get(name, range: range)
    }
    func size(of name: ObjectName) async throws -> Int { try await base.size(of: name) }
    func list(_ kind: ObjectKind) async throws -> [ObjectInfo] { try await base.list(kind) }
    func delete(_ name: ObjectName) async throws { try await base.delete(name) }
    func discardIncompleteWrites(olderThan age: Double) async throws -> Int { 0 }
}

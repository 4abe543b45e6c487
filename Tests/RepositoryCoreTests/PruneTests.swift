import RepositoryCore
import TestSupport
import Testing

@Suite("Forget and prune")
struct PruneTests {
    @Test("forget then prune frees the data and keeps the rest restorable")
    func forgetAndPrune() async throws {
        let store = InMemoryBlobStore()
        let repository = try await TestRepository.make(store: store)
        var random = SeededRandom(seed: 31)
        let old = random.bytes(3_000_000)
        let kept = random.dumpLikeText(2_000_000)
        let a = try await TestRepository.backup(repository, old).snapshot
        let b = try await TestRepository.backup(repository, kept).snapshot
        let before = try await repository.stats().packBytes
        try await repository.forget([a.id])
        let dry = try await repository.prune(dryRun: true)
        #expect(dry.isDryRun && !dry.plan.remove.isEmpty)
        #expect(try await repository.stats().packBytes == before, "dry run changed nothing")
        let report = try await repository.prune()
        #expect(report.packsDeleted == dry.plan.remove.count + dry.plan.repack.count)
        let after = try await repository.stats().packBytes
        #expect(after < before - 2_900_000)
        #expect(try await TestRepository.restore(repository, b) == kept)
        #expect(try await repository.check(reading: .all).isHealthy)
        #expect(try await repository.prune().plan.isEmpty, "a second prune has nothing to do")
    }

    /// The merge of index objects comes after the deletions: on a full disk they make room.
    @Test("without room to merge index objects prune still deletes, and merges in its next round")
    func noSpaceToMerge() async throws {
        let (repository, store, memory) = try await TestRepository.makeWithFaults()
        var random = SeededRandom(seed: 36)
        var kept: [(snapshot: Snapshot, data: [UInt8])] = []
        for _ in 0..<3 {
            let data = random.dumpLikeText(300_000)
            kept.append((try await TestRepository.backup(repository, data).snapshot, data))
        }
        let keptPacks = try await memory.list(.data).count
        // A failed backup whose own clean-up could not delete its packs leaves them to prune.
        store.fail(.delete, kind: .data, with: StorageError(.permanent, "I/O error"))
        let blocks = (0..<30).map { _ in random.bytes(100_000) }
        await #expect(throws: FailingDump.DumpFailed.self) {
            _ = try await repository.backup(
                FailingDump(blocks: blocks), request: BackupRequest(agent: "a", component: "c"))
        }
        let leftovers = try await memory.list(.data).count - keptPacks
        try #require(leftovers > 0)
        #expect(try await memory.list(.index).count == 3)

        store.fail(.put, kind: .index, with: StorageError(.noSpace, "No space left on device"))
        let report = try await repository.prune()
        #expect(store.clearFaults() == 0, "the first merge met the full store")
        #expect(report.packsDeleted == leftovers)
        #expect(try await memory.list(.index).count == 1, "the next round merged")
        #expect(try await repository.check(reading: .all).isHealthy)
        for (snapshot, data) in kept {
            #expect(try await TestRepository.restore(repository, snapshot) == data)
        }
    }

    /// Backs up a 3 MB dump and the dump with its first third replaced, then forgets the
    /// first: the packs hold the second's chunks beside garbage.
    static func backUpEditAndForgetOriginal(
        _ repository: Repository, seed: UInt64
    ) async throws -> (kept: Snapshot, data: [UInt8]) {
        var random = SeededRandom(seed: seed)
        let original = random.dumpLikeText(3_000_000)
        var edited = original
        edited.replaceSubrange(0..<1_000_000, with: random.dumpLikeText(1_000_000))
        let a = try await TestRepository.backup(repository, original).snapshot
        let b = try await TestRepository.backup(repository, edited).snapshot
        try await repository.forget([a.id])
        return (b, edited)
    }

    @Test("packs holding garbage are repacked until none is left")
    func repack() async throws {
        let repository = try await TestRepository.make()
        let (b, edited) = try await Self.backUpEditAndForgetOriginal(repository, seed: 32)
        let report = try await repository.prune(repackThreshold: 0.01)
        #expect(!report.plan.repack.isEmpty, "a's packs hold b's chunks and a's garbage")
        #expect(report.packsWritten >= 1)
        #expect(try await TestRepository.restore(repository, b) == edited)
        #expect(try await repository.check(reading: .all).isHealthy)
        let stats = try await repository.stats()
        #expect(stats.packBytes < stats.storedChunkBytes + 16 * 1024, "no garbage left")
        #expect(try await repository.prune(repackThreshold: 0.01).plan.isEmpty)
    }

    @Test("prune beside a running operation announces, and deletes once the operation ended")
    func besideRunningOperation() async throws {
        let repository = try await TestRepository.make()
        var random = SeededRandom(seed: 33)
        let a = try await TestRepository.backup(repository, random.bytes(2_000_000)).snapshot
        try await repository.forget([a.id])
        let before = try await repository.stats().packBytes
        let first = try await repository.withLock(.shared, operation: "backup") { _ in
            try await repository.prune()
        }
        #expect(!first.plan.remove.isEmpty && first.packsDeleted == 0)
        #expect(first.followUp == nil, "the holder was still running")
        #expect(try await repository.stats().packBytes == before)
        #expect(try await repository.check().isHealthy)
        let second = try await repository.prune()
        #expect(second.plan.delete == first.plan.remove)
        #expect(second.packsDeleted == first.plan.remove.count)
        #expect(try await repository.stats().packBytes == 0)
        #expect(try await repository.loadDeletionNotices().isEmpty)
    }

    @Test("prune that cannot write its new index stops, says to free space and loses nothing")
    func noSpaceForIndex() async throws {
        let (repository, store, _) = try await TestRepository.makeWithFaults()
        var random = SeededRandom(seed: 34)
        let a = try await TestRepository.backup(repository, random.bytes(3_000_000)).snapshot
        let kept = random.dumpLikeText(2_000_000)
        let b = try await TestRepository.backup(repository, kept).snapshot
        try await repository.forget([a.id])
        store.fail(.put, kind: .index, with: StorageError(.noSpace, "No space left on device"))
        do {
            _ = try await repository.prune()
            Issue.record("prune succeeded although the store was full")
        } catch let error as RepositoryError {
            #expect(error.code == .storage)
            #expect(error.message.contains("free some space"), "\(error)")
        }
        #expect(store.clearFaults() == 0, "the fault fired")
        #expect(try await repository.check(reading: .all).isHealthy)
        #expect(try await TestRepository.restore(repository, b) == kept)
        let report = try await repository.prune()
        #expect(report.packsDeleted > 0)
        #expect(try await TestRepository.restore(repository, b) == kept)
        #expect(try await repository.check(reading: .all).isHealthy)
    }

    @Test("prune without room to repack frees what needs no copy and repacks on a later run")
    func noSpaceToRepack() async throws {
        let (repository, store, memory) = try await TestRepository.makeWithFaults()
        let (b, edited) = try await Self.backUpEditAndForgetOriginal(repository, seed: 35)
        store.fail(.put, kind: .data, with: StorageError(.noSpace, "No space left on device"))
        let report = try await repository.prune(repackThreshold: 0.01)
        #expect(store.clearFaults() == 0, "the fault fired")
        #expect(report.plan.repack.isEmpty && report.packsWritten == 0)
        let (index, _, _) = try await repository.loadIndex()
        #expect(try await memory.list(.data).count == index.packCount, "no copies left behind")
        #expect(try await repository.check(reading: .all).isHealthy)
        #expect(try await TestRepository.restore(repository, b) == edited)
        let later = try await repository.prune(repackThreshold: 0.01)
        #expect(!later.plan.repack.isEmpty && later.packsWritten >= 1)
        #expect(try await TestRepository.restore(repository, b) == edited)
        #expect(try await repository.check(reading: .all).isHealthy)
    }

    @Test("two prunes never run together")
    func onePruneAtATime() async throws {
        let repository = try await TestRepository.make()
        _ = try await repository.withLock(.prune, operation: "prune") { _ in
            await #expect(throws: RepositoryError(.locked, "")) { _ = try await repository.prune() }
        }
        _ = try await repository.prune()
    }

    @Test("the plan is a function of its inputs")
    func planValues() {
        func entry(_ n: UInt8, _ offset: Int) -> PackEntry {
            PackEntry(
                id: ChunkID(Digest256(bytes: [UInt8](repeating: n, count: 32))), type: .data,
                compression: .zstd,
                offset: offset, length: 100, rawLength: 300)
        }
        func pack(_ n: UInt8) -> PackID {
            PackID(Digest256(bytes: [UInt8](repeating: n, count: 32)))
        }
        let records = [
            IndexFile.PackRecord(id: pack(1), size: 250, entries: [entry(1, 0), entry(2, 100)]),
            IndexFile.PackRecord(id: pack(2), size: 1000, entries: [entry(3, 0)]),
            IndexFile.PackRecord(
                id: pack(3), size: 350, entries: [entry(4, 0), entry(5, 100), entry(6, 200)]),
            IndexFile.PackRecord(id: pack(4), size: 500, entries: [entry(7, 0)]),
        ]
        let used: Set<ChunkID> = [entry(1, 0).id, entry(4, 0).id, entry(5, 0).id, entry(6, 0).id]
        let stored = [pack(1): 250, pack(2): 1000, pack(3): 350, pack(5): 77]
        let plan = PrunePlan.make(
            records: records, used: used, stored: stored, repackThreshold: 0.4)
        #expect(plan.keep == [pack(3)])
        #expect(plan.repack == [pack(1)])
        #expect(plan.blobsToCopy[pack(1)]?.map(\.id) == [entry(1, 0).id])
        #expect(plan.remove == [pack(2)])
        #expect(plan.unindexed == [pack(5)])
        #expect(plan.lostChunks.isEmpty)
        #expect(
            plan.missing == [pack(4)], "an indexed pack missing from the store leaves the index")
        let strict = PrunePlan.make(
            records: records, used: used, stored: stored, repackThreshold: 0.5)
        #expect(strict.keep == [pack(1), pack(3)], "header bytes do not count as unused")
        let lost = PrunePlan.make(
            records: records, used: used.union([entry(7, 0).id]), stored: stored,
            repackThreshold: 0.4)
        #expect(lost.lostChunks == [entry(7, 0).id], "chunks of a missing pack are reported lost")

        // Announced earlier: pack 1 (ready) holds chunk 1, which only it has: revived.
        // Pack 2 (ready) holds nothing used: deleted. Pack 3 waits for its holders.
        let later = PrunePlan.make(
            records: records, used: used, stored: stored, ready: [pack(1), pack(2), pack(5)],
            waiting: [pack(3)], repackThreshold: 0.4)
        #expect(later.revived == [pack(1)])
        #expect(later.delete == [pack(2), pack(5)])
        #expect(later.waiting == [pack(3)])
        #expect(later.toAnnounce.isEmpty && later.keep.isEmpty)
        #expect(later.lostChunks.isEmpty, "copies in waiting packs are not lost")
    }
}

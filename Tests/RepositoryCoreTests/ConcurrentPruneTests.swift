import RepositoryCore
import Synchronization
import TestSupport
import Testing

@Suite("Prune beside running backups")
struct ConcurrentPruneTests {
    /// A backup whose dump the test feeds, so it can be held at any point.
    final class HeldBackup: Sendable {
        let task: Task<BackupResult, any Error>
        let feed: AsyncStream<[UInt8]>.Continuation
        let counter: Counter

        final class Counter: Sendable { let value = Mutex(0) }

        private init(
            task: Task<BackupResult, any Error>, feed: AsyncStream<[UInt8]>.Continuation,
            counter: Counter
        ) {
            (self.task, self.feed, self.counter) = (task, feed, counter)
        }

        static func start(_ repository: Repository, component: String) -> HeldBackup {
            let (stream, feed) = AsyncStream<[UInt8]>.makeStream()
            let counter = Counter()
            let task = Task {
                try await repository.backup(
                    stream, request: BackupRequest(agent: "test", component: component),
                    progress: { progress in counter.value.withLock { $0 = progress.bytesRead } })
            }
            return HeldBackup(task: task, feed: feed, counter: counter)
        }

        /// Waits until the backup has consumed `count` bytes (it then holds its index).
        func waitUntilRead(_ count: Int) async throws {
            while counter.value.withLock({ $0 }) < count {
                try await Task.sleep(for: .milliseconds(5))
            }
        }

        func finish(with rest: [UInt8]) async throws -> Snapshot {
            feed.yield(rest)
            feed.finish()
            return try await task.value.snapshot
        }
    }

    @Test("a backup that deduplicated against data prune announced keeps that data")
    func revival() async throws {
        let repository = try await TestRepository.make()
        var random = SeededRandom(seed: 51)
        let data = random.dumpLikeText(3_000_000)
        let old = try await TestRepository.backup(repository, data).snapshot
        try await repository.forget([old.id])

        // The backup loads the index while `old`'s chunks are live, then prune announces them.
        let backup = HeldBackup.start(repository, component: "db")
        backup.feed.yield(Array(data[..<1_000_000]))
        try await backup.waitUntilRead(500_000)
        let first = try await repository.prune()
        #expect(!first.plan.remove.isEmpty, "with its snapshot forgotten, old's packs are unused")
        #expect(first.packsDeleted == 0)
        let snapshot = try await backup.finish(with: Array(data[1_000_000...]))
        #expect(snapshot.bytesAdded < 1_000_000, "the backup deduplicated against old's chunks")

        let second = try await repository.prune()
        #expect(!second.plan.revived.isEmpty, "packs the new snapshot needs are revived")
        #expect(try await TestRepository.restore(repository, snapshot) == data)
        #expect(try await repository.check(reading: .all).isHealthy)
        #expect(try await repository.prune().plan.isEmpty)
        #expect(try await TestRepository.restore(repository, snapshot) == data)
    }

    @Test("a backup started after the announcement stores announced chunks again")
    func noDeduplicationAgainstAnnounced() async throws {
        let store = InMemoryBlobStore()
        let repository = try await TestRepository.make(store: store)
        var random = SeededRandom(seed: 52)
        let data = random.dumpLikeText(2_000_000)
        let old = try await TestRepository.backup(repository, data).snapshot
        try await repository.forget([old.id])
        let holder = HeldBackup.start(repository, component: "other")
        holder.feed.yield(random.bytes(10))
        while try await store.list(.locks).isEmpty { try await Task.sleep(for: .milliseconds(5)) }
        _ = try await repository.prune()  // announces, cannot delete: `holder` runs
        let fresh = try await TestRepository.backup(repository, data).snapshot
        #expect(
            fresh.bytesAdded >= old.bytesAdded * 9 / 10,
            "announced chunks are not deduplicated against")
        _ = try await holder.finish(with: [])
        let report = try await repository.prune()
        #expect(!report.plan.delete.isEmpty && report.plan.revived.isEmpty)
        #expect(try await TestRepository.restore(repository, fresh) == data)
        #expect(try await repository.check(reading: .all).isHealthy)
    }

    @Test("prune waiting for the running backups frees the data when they end")
    func waitForWriters() async throws {
        let repository = try await TestRepository.make()
        var random = SeededRandom(seed: 53)
        let garbage = try await TestRepository.backup(repository, random.bytes(1_500_000)).snapshot
        try await repository.forget([garbage.id])
        let backup = HeldBackup.start(repository, component: "db")
        let data = random.dumpLikeText(1_000_000)
        backup.feed.yield(Array(data[..<500_000]))
        try await backup.waitUntilRead(200_000)
        async let pruned = repository.prune(waitForWriters: .seconds(60))
        try await Task.sleep(for: .milliseconds(300))
        let snapshot = try await backup.finish(with: Array(data[500_000...]))
        let report = try await pruned
        #expect(report.followUp != nil && report.packsDeleted > 0 && report.packsWaiting == 0)
        #expect(try await TestRepository.restore(repository, snapshot) == data)
        #expect(try await repository.check(reading: .all).isHealthy)
    }

    @Test("prune running while two backups write: every snapshot restores and check passes")
    func pruneWhileTwoBackupsWrite() async throws {
        let repository = try await TestRepository.make()
        var random = SeededRandom(seed: 54)
        let bases = (0..<3).map { _ in random.dumpLikeText(1_500_000) }
        var expected: [SnapshotID: [UInt8]] = [:]
        var forgettable: [SnapshotID] = []
        for base in bases {
            let snapshot = try await TestRepository.backup(repository, base).snapshot
            forgettable.append(snapshot.id)
        }
        try await repository.forget(forgettable)
        for round in 0..<3 {
            // Each backup shares most of its data with a forgotten snapshot.
            var dumps: [[UInt8]] = []
            for index in 0..<2 {
                var dump = bases[(round + index) % bases.count]
                dump.replaceSubrange(0..<200_000, with: random.dumpLikeText(200_000))
                dumps.append(dump)
            }
            let results = try await withThrowingTaskGroup(of: (Snapshot, [UInt8])?.self) { group in
                for (index, dump) in dumps.enumerated() {
                    group.addTask {
                        let result = try await repository.backup(
                            Blocks(bytes: dump, blockSize: 50_000),
                            request: BackupRequest(agent: "test", component: "c\(index)"))
                        return (result.snapshot, dump)
                    }
                }
                group.addTask {
                    for _ in 0..<3 {
                        _ = try await repository.prune(repackThreshold: 0.05)
                        await Task.yield()
                    }
                    return nil
                }
                var results: [(Snapshot, [UInt8])] = []
                for try await result in group { if let result { results.append(result) } }
                return results
            }
            for (snapshot, dump) in results { expected[snapshot.id] = dump }
            // Older snapshots of a component are forgotten as retention would.
            if round == 1 { try await repository.forget(Array(expected.keys.prefix(1))) }
            if round == 1 { expected.removeValue(forKey: expected.keys.first!) }
        }
        for (id, dump) in expected {
            let snapshot = try await repository.loadSnapshot(id)
            #expect(try await TestRepository.restore(repository, snapshot) == dump)
        }
        #expect(try await repository.check(reading: .all).isHealthy)
        _ = try await repository.prune(repackThreshold: 0.05)
        let stats = try await repository.stats()
        #expect(stats.packBytes < stats.storedChunkBytes + 64 * 1024, "nothing unused is left")
        #expect(try await repository.check(reading: .all).isHealthy)
    }

    @Test(
        "prune stopped at any write leaves a repository that checks clean and a later prune finishes",
        arguments: [FaultyBlobStore.Operation.put, .delete])
    func stoppedAtEveryStep(operation: FaultyBlobStore.Operation) async throws {
        var step = 0
        while true {
            let (repository, store, memory) = try await TestRepository.makeWithFaults()
            var random = SeededRandom(seed: 55)
            let original = random.dumpLikeText(2_500_000)
            var edited = original
            edited.replaceSubrange(0..<800_000, with: random.dumpLikeText(800_000))
            let a = try await TestRepository.backup(repository, original).snapshot
            let b = try await TestRepository.backup(repository, edited).snapshot
            let c = try await TestRepository.backup(repository, random.bytes(500_000)).snapshot
            try await repository.forget([a.id, c.id])
            store.fail(operation, after: step, with: StorageError(.permanent, "stopped here"))
            do {
                _ = try await repository.prune(repackThreshold: 0.01)
            } catch {
                #expect("\(error)".contains("stopped here"), "\(error)")
            }
            let stopped = store.clearFaults() == 0
            // A lock left behind by a failed release is what a dead holder leaves; other
            // processes remove such locks (FORMAT.md §9), this process is still alive.
            for info in try await memory.list(.locks) { try await memory.delete(info.name) }
            #expect(try await repository.check(reading: .all).isHealthy, "step \(step)")
            #expect(try await TestRepository.restore(repository, b) == edited, "step \(step)")
            _ = try await repository.prune(repackThreshold: 0.01)
            #expect(try await repository.prune(repackThreshold: 0.01).plan.isEmpty)
            #expect(try await repository.check(reading: .all).isHealthy, "step \(step)")
            #expect(try await TestRepository.restore(repository, b) == edited, "step \(step)")
            let (index, _, _) = try await repository.loadIndex()
            #expect(try await memory.list(.data).count == index.packCount, "step \(step)")
            guard stopped else { break }
            step += 1
        }
        #expect(step >= 3, "prune made several \(operation) calls")
    }
}

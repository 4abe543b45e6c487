import Foundation
import Logging

/// What prune did.
package struct PruneReport: Sendable {
    /// The plan of the first round (what was announced, and what earlier announcements became).
    package var plan: PrunePlan
    /// The plan of the round that deleted this run's announcements, if it ran.
    package var followUp: PrunePlan?
    package var packsWritten = 0
    package var packsDeleted = 0
    package var bytesDeleted = 0
    /// Packs announced and not deleted yet: operations that were running still run.
    package var packsWaiting = 0
    package var temporariesDiscarded = 0
    package var isDryRun = false
}

extension Repository {
    /// Removes data that no snapshot references, repacking packs that are mostly garbage,
    /// while backups and restores keep running (FORMAT.md §10, "Prune").
    ///
    /// A round announces what it found unused in a deletion notice, then deletes what earlier
    /// notices announced once every lock holder that was live at their announcement has gone,
    /// except packs a snapshot needs again. After announcing, prune waits up to
    /// `waitForWriters` for the holders of its own notice and runs a second round, so with no
    /// other operation running one call frees everything. Memory: 36 bytes per distinct used
    /// chunk (twice the IDs while merging), one index object (at most ~65 536 entries) and a
    /// batch of snapshots at a time, a few words per pack, and the entries of packs being
    /// repacked (FORMAT.md §10, "Memory").
    /// - Parameters:
    ///   - dryRun: compute and return the plan, change nothing.
    ///   - waitForWriters: how long to wait for operations running at the announcement.
    /// - Throws: `.integrity` when an index or snapshot is unreadable or used data is lost:
    ///   pruning then could delete data still needed; `.locked` when another prune runs;
    ///   `.storage` saying to free some space when the store is full (nothing is lost).
    package func prune(
        repackThreshold: Double = 0.2, dryRun: Bool = false, waitForWriters: Duration = .zero,
        progress: @Sendable (String) -> Void = { _ in }
    ) async throws -> PruneReport {
        guard (0.0...1.0).contains(repackThreshold) else {
            throw RepositoryError(.invalidArgument, "repack threshold must be between 0 and 1")
        }
        do {
            return try await pruneLocked(
                repackThreshold: repackThreshold, dryRun: dryRun, waitForWriters: waitForWriters,
                progress: progress)
        } catch let error where Self.isOutOfSpace(error) {
            throw RepositoryError(
                .storage,
                "prune ran out of space on \(store.name): it must write a new index before it "
                    + "deletes packs the old one names; free some space and run prune again",
                cause: error)
        }
    }

    private static func isOutOfSpace(_ error: any Error) -> Bool {
        switch error {
        case let error as StorageError: error.code == .noSpace
        case let error as RepositoryError: error.cause.map(isOutOfSpace) ?? false
        default: false
        }
    }

    private func pruneLocked(
        repackThreshold: Double, dryRun: Bool, waitForWriters: Duration,
        progress: @Sendable (String) -> Void
    ) async throws -> PruneReport {
        try await withLock(.prune, operation: "prune") { lease in
            var report = PruneReport(plan: PrunePlan(), isDryRun: dryRun)
            let notice = try await pruneRound(
                repackThreshold: repackThreshold, dryRun: dryRun, announce: true, lease: lease,
                report: &report, progress: progress)
            if let notice,
                try await waitForHolders(of: notice, lease: lease, upTo: waitForWriters)
            {
                var second = PruneReport(plan: PrunePlan())
                _ = try await pruneRound(
                    repackThreshold: repackThreshold, dryRun: false, announce: false,
                    lease: lease, report: &second, progress: progress)
                report.followUp = second.plan
                report.packsDeleted += second.packsDeleted
                report.bytesDeleted += second.bytesDeleted
                report.packsWritten += second.packsWritten
                report.packsWaiting = second.packsWaiting
            }
            if !dryRun {
                report.temporariesDiscarded = try await store.discardIncompleteWrites(
                    olderThan: 3600)
            }
            return report
        }
    }

    /// One round; returns the notice it stored, if any.
    private func pruneRound(
        repackThreshold: Double, dryRun: Bool, announce: Bool, lease: LockLease,
        report: inout PruneReport, progress: @Sendable (String) -> Void
    ) async throws -> DeletionNotice? {
        // Order matters: which notices are ready is decided before the snapshots are read, so
        // every snapshot a holder of a ready notice wrote is seen.
        let notices = try await loadDeletionNotices()
        let live = Set(
            try await liveLocks(conflictingWith: .prune, except: lease.current).map(\.id))
        var ready = Set<PackID>()
        var waiting = Set<PackID>()
        var readyNotices: [DeletionNotice] = []
        for notice in notices {
            let isReady =
                notice.writers.map { $0.allSatisfy { !live.contains($0) } } ?? live.isEmpty
            if isReady {
                ready.formUnion(notice.packs)
                readyNotices.append(notice)
            } else {
                waiting.formUnion(notice.packs)
            }
        }
        waiting.subtract(ready)
        progress("reading snapshots")
        let used = try await loadUsedChunks()
        var stored: [PackID: Int] = [:]
        for info in try await store.list(.data) {
            if let digest = Digest256(hex: info.name.name) { stored[PackID(digest)] = info.size }
        }
        progress("reading the index (\(used.count) used chunks)")
        let indexNames = try await store.list(.index).map(\.name)
        var planner = PrunePlanner(
            used: used, stored: stored, ready: ready, waiting: waiting,
            repackThreshold: repackThreshold)
        var (indexed, indexedEntries) = (Set<PackID>(), 0)
        try await forEachIndexRecord(indexNames) {
            planner.assign($0)
            indexed.insert($0.id)
            indexedEntries += $0.entries.count
        }
        try await forEachIndexRecord(indexNames) { planner.classify($0) }
        var plan = planner.finish()
        if !announce {
            // A follow-up round only deletes; new garbage waits for the next run.
            (plan.remove, plan.repack, plan.unindexed) = ([], [], [])
            plan.blobsToCopy = [:]
            (plan.bytesAnnounced, plan.bytesRepacked) = (0, 0)
        }
        guard plan.lostChunks.isEmpty else {
            throw RepositoryError(
                .integrity,
                "\(plan.lostChunks.count) chunk(s) used by snapshots are in no stored pack (first: \(plan.lostChunks[0])); run check"
            )
        }
        report.plan = plan
        report.packsWaiting = plan.waiting.count
        logger.debug("prune planned", metadata: ["plan": "\(plan)"])
        guard !dryRun else { return nil }

        if !plan.repack.isEmpty {
            progress("repacking \(plan.repack.count) pack(s)")
            do {
                report.packsWritten = try await repack(plan, lease: lease)
            } catch let error where Self.isOutOfSpace(error) {
                // Copying needs room: free what needs no copy now, repack on a later run.
                logger.warning(
                    "no space to repack; those packs wait for a later prune",
                    metadata: ["packs": "\(plan.repack.count)", "error": "\(error)"])
                plan.keep += plan.repack
                (plan.repack, plan.blobsToCopy, plan.bytesRepacked) = ([], [:], 0)
                report.plan = plan
            }
        }
        let dropped = Set(plan.delete + plan.missing)
        // Records of dropped packs go before the packs do. Merging many small index objects
        // (one per backup) into as few as the limits allow waits until the deletions made room.
        let mustRewrite = !dropped.isDisjoint(with: indexed)
        let needed = max(
            1, (indexed.count + IndexFile.maximumPacks - 1) / IndexFile.maximumPacks,
            (indexedEntries + IndexFile.closingEntries - 1) / IndexFile.closingEntries)
        if mustRewrite {
            progress("rewriting the index")
            try await rewriteIndex(indexNames, dropping: dropped, lease: lease)
        }
        try lease.ensureValid()
        if !plan.delete.isEmpty { progress("deleting \(plan.delete.count) pack(s)") }
        for pack in plan.delete {
            do {
                try await store.delete(ObjectName(.data, pack.digest.hex))
                report.packsDeleted += 1
                report.bytesDeleted += stored[pack] ?? 0
            } catch let error as StorageError where error.code == .notFound {
                continue
            }
        }
        for notice in readyNotices {
            try? await store.delete(notice.name)
        }
        if !mustRewrite, indexNames.count > 2 * needed {
            progress("merging the index")
            do {
                try await rewriteIndex(indexNames, dropping: [], lease: lease)
            } catch let error where Self.isOutOfSpace(error) {
                logger.warning(
                    "no space to merge the index; a later prune will",
                    metadata: ["error": "\(error)"])
            }
        }
        guard announce, !plan.toAnnounce.isEmpty else { return nil }
        return try await storeNotice(for: plan.toAnnounce, lease: lease)
    }

    /// The sorted set of chunks any snapshot references, merged one snapshot at a time.
    private func loadUsedChunks() async throws -> SortedChunkSet {
        var used = SortedChunkSet()
        let names = try await store.list(.snapshots).map(\.name)
        let batch = max(1, store.maxConcurrentRequests)
        for start in stride(from: 0, to: names.count, by: batch) {
            let loaded = try await names[start..<min(start + batch, names.count)]
                .concurrentMap(limit: batch) { name in
                    guard let digest = Digest256(hex: name.name) else {
                        throw RepositoryError(
                            .integrity,
                            "prune refuses to run while \(name) is unreadable (foreign file); run check"
                        )
                    }
                    do {
                        return try await self.loadSnapshot(SnapshotID(digest)).chunks
                    } catch let error as RepositoryError where error.code == .snapshotNotFound {
                        return []  // forgotten meanwhile
                    } catch {
                        throw RepositoryError(
                            .integrity,
                            "prune refuses to run while \(name) is unreadable; run check",
                            cause: error)
                    }
                }
            for chunks in loaded { used.formUnion(chunks) }
        }
        return used
    }

    /// Reads the named index objects one at a time and hands over their records.
    private func forEachIndexRecord(
        _ names: [ObjectName], _ body: (IndexFile.PackRecord) -> Void
    ) async throws {
        for name in names {
            let file: IndexFile
            do {
                guard let digest = Digest256(hex: name.name) else {
                    throw RepositoryError(.malformed, "foreign file in index/")
                }
                file = try IndexFile(decoding: try await loadContentNamed(.index, digest))
            } catch {
                throw RepositoryError(
                    .integrity, "prune refuses to run while \(name) is unreadable; run check",
                    cause: error)
            }
            for record in file.packs { body(record) }
        }
    }

    /// Copies the used blobs of the plan's repack packs into new packs and indexes them.
    private func repack(_ plan: PrunePlan, lease: LockLease) async throws -> Int {
        let sink = PackSink(repository: self)
        do {
            for pack in plan.repack {
                let bytes = try await store.get(ObjectName(.data, pack.digest.hex))
                for entry in plan.blobsToCopy[pack] ?? [] {
                    guard entry.offset >= 0, entry.offset + entry.length <= bytes.count else {
                        throw RepositoryError(
                            .integrity, "pack \(pack) is shorter than its index says; run check")
                    }
                    let sealed = Array(bytes[entry.offset..<(entry.offset + entry.length)])
                    _ = try openBlob(sealed[...], entry: entry)  // never copy damage
                    try await sink.add(
                        id: entry.id, compression: entry.compression, rawLength: entry.rawLength,
                        sealed: sealed)
                }
            }
            try await sink.flush()
            try lease.ensureValid()
        } catch {
            await sink.discardWrittenPacks(logger: logger)
            throw error
        }
        let written = sink.writtenPacks
        if !written.isEmpty { _ = try await saveIndexObjects(written) }
        return written.count
    }

    /// Replaces the named index objects by new ones without the dropped packs' records:
    /// new objects first, then the old ones are deleted (index objects other operations
    /// write meanwhile are not touched).
    private func rewriteIndex(
        _ names: [ObjectName], dropping dropped: Set<PackID>, lease: LockLease
    ) async throws {
        var batch: [IndexFile.PackRecord] = []
        var entries = 0
        var seen = Set<PackID>()
        for name in names {
            // Records are written as batches fill, so memory holds one batch and one object.
            var records: [IndexFile.PackRecord] = []
            try await forEachIndexRecord([name]) { records.append($0) }
            for record in records
            where !dropped.contains(record.id) && seen.insert(record.id).inserted {
                batch.append(record)
                entries += record.entries.count
                if IndexFile.isFull(packs: batch.count, entries: entries) {
                    try lease.ensureValid()
                    _ = try await saveIndex(batch)
                    (batch, entries) = ([], 0)
                }
            }
        }
        if !batch.isEmpty {
            try lease.ensureValid()
            _ = try await saveIndex(batch)
        }
        for name in names {
            do {
                try await store.delete(name)
            } catch let error as StorageError where error.code == .notFound {
                continue
            }
        }
    }

    /// Stores a notice for `packs` naming every holder live once it is visible.
    ///
    /// Holders write their lock before they read notices, and prune lists locks after its
    /// notice is stored, so each holder either sees the notice or is named in it. The notice
    /// is first stored without holders (ready only when no lock at all is live), so a crash
    /// before the final one is written errs on the safe side.
    private func storeNotice(for packs: [PackID], lease: LockLease) async throws -> DeletionNotice {
        func freshName() -> ObjectName {
            ObjectName(.deletions, RepositoryConfig.randomID() + RepositoryConfig.randomID())
        }
        try lease.ensureValid()
        let provisional = DeletionNotice(
            name: freshName(), time: Date(), packs: packs, writers: nil)
        try await saveDeletionNotice(provisional)
        let live = try await liveLocks(conflictingWith: .prune, except: lease.current).map(\.id)
        var notice = provisional
        notice.name = freshName()
        notice.writers = Set(live).sorted()
        try await saveDeletionNotice(notice)
        try await store.delete(provisional.name)
        logger.debug(
            "packs announced for deletion",
            metadata: ["packs": "\(packs.count)", "writers": "\(notice.writers?.count ?? 0)"])
        return notice
    }

    /// Waits until every holder the notice names has gone; false when `limit` passes first.
    private func waitForHolders(
        of notice: DeletionNotice, lease: LockLease, upTo limit: Duration
    ) async throws -> Bool {
        let writers = Set(notice.writers ?? [])
        let deadline = ContinuousClock.now + limit
        var pause = Duration.milliseconds(200)
        while true {
            let live = Set(
                try await liveLocks(conflictingWith: .prune, except: lease.current).map(\.id))
            if live.isDisjoint(with: writers) { return true }
            guard ContinuousClock.now + pause <= deadline else { return false }
            try await Task.sleep(for: pause)
            pause = min(pause * 2, .seconds(5))
        }
    }
}

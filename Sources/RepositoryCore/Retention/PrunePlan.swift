import Logging

/// What prune will do, computed from values alone so it can be printed, tested and dry-run
/// (FORMAT.md §10, "Prune").
package struct PrunePlan: Sendable, CustomStringConvertible {
    /// Packs that stay as they are.
    package var keep: [PackID] = []
    /// Packs whose still-used blobs are copied to new packs before the pack is removed.
    package var repack: [PackID] = []
    /// Indexed packs holding no used blob.
    package var remove: [PackID] = []
    /// Stored packs that no index names (leftovers of interrupted backups).
    package var unindexed: [PackID] = []
    /// Used blobs to copy out of `repack` packs.
    package var blobsToCopy: [PackID: [PackEntry]] = [:]
    /// Index records of the kept packs; the new index is these plus the new packs.
    package var keptRecords: [IndexFile.PackRecord] = []
    /// Indexed packs missing from the store that hold no used chunk: dropped from the index.
    package var missing: [PackID] = []
    /// Used chunks that no stored pack holds: prune refuses to run while there are any.
    package var lostChunks: [ChunkID] = []
    package var bytesRemoved = 0
    package var bytesRepacked = 0

    /// - Parameters:
    ///   - records: every pack record of every readable index object.
    ///   - used: chunks that some snapshot references.
    ///   - stored: packs present in the store, with their sizes.
    ///   - repackThreshold: a pack is repacked when at least this fraction of it is unused.
    package static func make(
        records: [IndexFile.PackRecord], used: Set<ChunkID>, stored: [PackID: Int],
        repackThreshold: Double
    ) -> PrunePlan {
        var plan = PrunePlan()
        var seenPacks = Set<PackID>()
        let present =
            records
            .filter { stored[$0.id] != nil && seenPacks.insert($0.id).inserted }
            .sorted { $0.id < $1.id }
        var chosen: [ChunkID: PackID] = [:]
        for record in present {
            for entry in record.entries where used.contains(entry.id) && chosen[entry.id] == nil {
                chosen[entry.id] = record.id
            }
        }
        plan.lostChunks = used.filter { chosen[$0] == nil }.sorted()
        for record in present {
            let usedEntries = record.entries.filter { chosen[$0.id] == record.id }
            let size = stored[record.id] ?? record.size
            let usedBytes = usedEntries.reduce(0) { $0 + $1.length }
            let unusedBytes = record.entries.reduce(0) { $0 + $1.length } - usedBytes
            if usedEntries.isEmpty {
                plan.remove.append(record.id)
                plan.bytesRemoved += size
            } else if unusedBytes > 0, Double(unusedBytes) >= repackThreshold * Double(size) {
                plan.repack.append(record.id)
                plan.blobsToCopy[record.id] = usedEntries
                plan.bytesRepacked += usedBytes
                plan.bytesRemoved += size
            } else {
                plan.keep.append(record.id)
                plan.keptRecords.append(record)
            }
        }
        plan.missing = Set(records.map(\.id)).filter { stored[$0] == nil }.sorted()
        let indexed = Set(records.map(\.id))
        plan.unindexed = stored.keys.filter { !indexed.contains($0) }.sorted()
        plan.bytesRemoved += plan.unindexed.reduce(0) { $0 + (stored[$1] ?? 0) }
        return plan
    }

    /// Whether executing the plan changes anything.
    package var isEmpty: Bool {
        repack.isEmpty && remove.isEmpty && unindexed.isEmpty && missing.isEmpty
    }

    package var description: String {
        "keep \(keep.count) pack(s), repack \(repack.count) (\(bytesRepacked) bytes to copy), "
            + "remove \(remove.count) unused and \(unindexed.count) unindexed; frees about \(bytesRemoved - bytesRepacked) bytes"
    }
}

/// What prune did.
package struct PruneReport: Sendable {
    package var plan: PrunePlan
    package var packsWritten = 0
    package var packsDeleted = 0
    package var temporariesDiscarded = 0
    package var isDryRun = false
}

extension Repository {
    /// Removes data that no snapshot references, repacking packs that are mostly garbage.
    ///
    /// Holds the exclusive lock, so no backup runs meanwhile. Order: new packs, new index,
    /// old index objects, then old packs: a crash at any point leaves a repository that
    /// checks clean (at worst with leftovers the next prune removes).
    /// - Parameter dryRun: compute and return the plan, change nothing.
    /// - Throws: `.integrity` when an index or snapshot is unreadable or used data is lost:
    ///   pruning then could delete data still needed.
    package func prune(
        repackThreshold: Double = 0.2, dryRun: Bool = false
    ) async throws -> PruneReport {
        guard (0.0...1.0).contains(repackThreshold) else {
            throw RepositoryError(.invalidArgument, "repack threshold must be between 0 and 1")
        }
        return try await withLock(.exclusive, operation: "prune") { lease in
            try await runPrune(repackThreshold: repackThreshold, dryRun: dryRun, lease: lease)
        }
    }

    private func runPrune(
        repackThreshold: Double, dryRun: Bool, lease: LockLease
    ) async throws -> PruneReport {
        let (files, unreadableIndexes) = try await loadIndexFiles()
        let (snapshots, unreadableSnapshots) = try await loadSnapshots()
        if let failure = (unreadableIndexes + unreadableSnapshots).first {
            throw RepositoryError(
                .integrity, "prune refuses to run while \(failure.name) is unreadable; run check",
                cause: failure.error)
        }
        var stored: [PackID: Int] = [:]
        for info in try await store.list(.data) {
            if let digest = Digest256(hex: info.name.name) { stored[PackID(digest)] = info.size }
        }
        let used = Set(snapshots.flatMap(\.chunks))
        let plan = PrunePlan.make(
            records: files.flatMap(\.1.packs), used: used, stored: stored,
            repackThreshold: repackThreshold)
        guard plan.lostChunks.isEmpty else {
            throw RepositoryError(
                .integrity,
                "\(plan.lostChunks.count) chunk(s) used by snapshots are in no stored pack (first: \(plan.lostChunks[0])); run check"
            )
        }
        var report = PruneReport(plan: plan, isDryRun: dryRun)
        logger.debug("prune planned", metadata: ["plan": "\(plan)"])
        guard !dryRun else { return report }

        let sink = PackSink(repository: self)
        for pack in plan.repack {
            let bytes = try await store.get(ObjectName(.data, pack.digest.hex))
            for entry in plan.blobsToCopy[pack] ?? [] {
                let sealed = Array(bytes[entry.offset..<(entry.offset + entry.length)])
                _ = try openBlob(sealed[...], entry: entry)  // never copy damage
                try await sink.add(
                    id: entry.id, compression: entry.compression, rawLength: entry.rawLength,
                    sealed: sealed)
            }
        }
        try await sink.flush()
        try lease.ensureValid()
        let written = sink.writtenPacks
        report.packsWritten = written.count
        let records = plan.keptRecords + written
        if !plan.isEmpty || files.count > 1 {
            try lease.ensureValid()
            let batch = 4096
            for start in stride(from: 0, to: records.count, by: batch) {
                _ = try await saveIndex(Array(records[start..<min(start + batch, records.count)]))
            }
            for (id, _) in files { try await store.delete(ObjectName(.index, id.digest.hex)) }
        }
        try lease.ensureValid()
        for pack in plan.remove + plan.repack + plan.unindexed {
            do {
                try await store.delete(ObjectName(.data, pack.digest.hex))
                report.packsDeleted += 1
            } catch let error as StorageError where error.code == .notFound {
                continue
            }
        }
        report.temporariesDiscarded = try await store.discardIncompleteWrites(olderThan: 3600)
        return report
    }
}

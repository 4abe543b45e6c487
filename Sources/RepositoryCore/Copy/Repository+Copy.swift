import Logging

extension Repository {
    /// Copies snapshots (all when `selection` is nil) to a tier of this repository, moving
    /// only the packs it lacks.
    ///
    /// Order, as for a backup: packs, then an index for them, then each snapshot object,
    /// byte for byte, so a snapshot appears on the tier only once all it needs is there.
    /// Every pack is checked against its name before it leaves; the stored sizes of all are
    /// checked after, in one listing. An interrupted copy resumes: packs already on the tier are not sent again, and
    /// whole ones nobody indexed yet are indexed. Both repositories are held under shared
    /// locks, so prune on either side waits for the copy (FORMAT.md §10).
    /// - Throws: `.snapshotNotFound` for a selected ID the source lacks, `.integrity` for a
    ///   damaged source pack (nothing of that snapshot is written), store errors.
    package func copySnapshots(
        _ selection: [SnapshotID]?, to target: Repository,
        progress: @escaping @Sendable (CopyReport) -> Void = { _ in }
    ) async throws -> CopyReport {
        guard target.config.id == config.id else {
            throw RepositoryError(
                .invalidArgument,
                "store \(target.store.name) holds repository \(target.config.id), not \(config.id)")
        }
        return try await withLock(.shared, operation: "copy to \(target.store.name)") { source in
            try await target.withLock(.shared, operation: "copy from \(store.name)") { lease in
                try await copyLocked(selection, to: target, progress: progress) {
                    try source.ensureValid()
                    try lease.ensureValid()
                }
            }
        }
    }

    private func copyLocked(
        _ selection: [SnapshotID]?, to target: Repository,
        progress: @escaping @Sendable (CopyReport) -> Void,
        ensureLocks: @escaping @Sendable () throws -> Void
    ) async throws -> CopyReport {
        var report = CopyReport()
        let (all, unreadable) = try await loadSnapshots()
        var chosen = all
        if let selection {
            let byID = Dictionary(all.map { ($0.id, $0) }, uniquingKeysWith: { a, _ in a })
            chosen = try selection.map { id in
                guard let snapshot = byID[id] else {
                    throw RepositoryError(
                        .snapshotNotFound, "snapshot \(id) is not in store \(store.name)")
                }
                return snapshot
            }
        } else if let first = unreadable.first {
            throw RepositoryError(
                .integrity, "snapshot object \(first.name) cannot be read: \(first.error)")
        }
        let present = Set(try await target.store.list(.snapshots).map(\.name.name))
        let missing = chosen.filter { !present.contains($0.id.digest.hex) }
        report.snapshotsPresent = chosen.count - missing.count
        guard !missing.isEmpty else { return report }

        let (sourceIndex, _, _) = try await loadIndex()
        let (targetIndex, _, _) = try await target.loadIndex()
        var needed = Set<PackID>()
        for snapshot in missing {
            for chunk in snapshot.chunks where !targetIndex.canDeduplicate(chunk) {
                guard let location = sourceIndex.location(of: chunk) else {
                    throw RepositoryError(
                        .integrity,
                        "snapshot \(snapshot.id) needs chunk \(chunk), which no pack in store "
                            + "\(store.name) holds; run check")
                }
                needed.insert(location.pack)
            }
        }
        var records: [IndexFile.PackRecord] = []
        var seen = Set<PackID>()
        for (_, file) in try await loadIndexFiles().files {
            for pack in file.packs where needed.contains(pack.id) && seen.insert(pack.id).inserted {
                records.append(pack)
            }
        }
        records.sort { $0.id.digest.hex < $1.id.digest.hex }
        let onTarget = Dictionary(
            try await target.store.list(.data).map { ($0.name.name, $0.size) },
            uniquingKeysWith: { a, _ in a })
        report.packsPlanned = records.count
        report.bytesPlanned = records.reduce(0) { $0 + $1.size }
        progress(report)

        let counter = ProgressCounter(report, report: progress)
        let sourceStore = store
        let targetStore = target.store
        let outcomes = try await records.concurrentMap(limit: targetStore.maxConcurrentRequests) {
            record -> Bool in
            try ensureLocks()
            let name = ObjectName(.data, record.id.digest.hex)
            if let size = onTarget[name.name], size == record.size {
                counter.update { $0.packsResumed += 1 }
                return false
            }
            let bytes = try await sourceStore.get(name)
            guard bytes.count == record.size, SHA256Hasher.digest(bytes) == record.id.digest else {
                throw RepositoryError(
                    .integrity,
                    "pack \(record.id) in store \(sourceStore.name) does not match its name; "
                        + "run check --read-data")
            }
            do {
                try await targetStore.put(name, bytes)
            } catch let error as StorageError where error.code == .alreadyExists {}
            counter.update {
                $0.packsCopied += 1
                $0.bytesCopied += bytes.count
            }
            return true
        }
        report.packsCopied = outcomes.filter { $0 }.count
        report.packsResumed = outcomes.count - report.packsCopied
        report.bytesCopied = records.indices.filter { outcomes[$0] }.reduce(0) {
            $0 + records[$1].size
        }

        // One listing checks every copied pack's stored size (a request per pack would cost a
        // round trip each, or a process each on an rclone tier).
        if report.packsCopied > 0 {
            let stored = Dictionary(
                try await targetStore.list(.data).map { ($0.name.name, $0.size) },
                uniquingKeysWith: { a, _ in a })
            for record in records {
                let size = stored[record.id.digest.hex]
                guard size == record.size else {
                    throw RepositoryError(
                        .integrity,
                        "pack \(record.id) in store \(targetStore.name) holds "
                            + "\(size.map { "\($0) bytes" } ?? "nothing"), not \(record.size) bytes; "
                            + "delete it there and copy again")
                }
            }
        }
        try ensureLocks()
        if !records.isEmpty {
            report.indexObjectsWritten = try await target.saveIndexObjects(records).count
        }
        for snapshot in missing {
            try ensureLocks()
            let name = ObjectName(.snapshots, snapshot.id.digest.hex)
            let bytes = try await store.get(name)
            guard SHA256Hasher.digest(bytes) == snapshot.id.digest else {
                throw RepositoryError(
                    .integrity, "snapshot object \(snapshot.id) does not match its name")
            }
            do {
                try await target.store.put(name, bytes)
            } catch let error as StorageError where error.code == .alreadyExists {}
            report.snapshotsCopied.append(snapshot.id)
            logger.debug(
                "snapshot copied",
                metadata: ["snapshot.id": "\(snapshot.id)", "tier": "\(target.store.name)"])
        }
        progress(report)
        return report
    }
}

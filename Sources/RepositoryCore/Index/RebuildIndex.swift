/// What rebuilding the index did.
package struct RebuildIndexReport: Sendable {
    /// Packs whose headers were read into the new index.
    package var packsIndexed = 0
    /// Packs whose header could not be read; they are left in place for inspection.
    package var unreadablePacks: [(pack: PackID, error: String)] = []
    package var indexObjectsReplaced = 0
}

extension Repository {
    /// Replaces every index object with one rebuilt from the pack headers alone (FORMAT.md §6,
    /// §7): the way back from lost or damaged index objects.
    ///
    /// Holds the exclusive lock. The new index is written before the old objects are removed,
    /// so a crash leaves duplicates at worst.
    package func rebuildIndex() async throws -> RebuildIndexReport {
        try await withLock(.exclusive, operation: "rebuild-index") { lease in
            var report = RebuildIndexReport()
            let packs = try await store.list(.data).compactMap { info -> (PackID, Int)? in
                Digest256(hex: info.name.name).map { (PackID($0), info.size) }
            }
            let results = try await packs.concurrentMap(limit: store.maxConcurrentRequests) {
                pack, size -> Result<IndexFile.PackRecord, RepositoryError> in
                do {
                    let entries = try await Pack.entries(
                        of: pack, size: size, in: self.store, keys: self.keys)
                    return .success(IndexFile.PackRecord(id: pack, size: size, entries: entries))
                } catch let error as RepositoryError {
                    return .failure(error)
                } catch {
                    return .failure(
                        RepositoryError(.storage, "reading pack \(pack) failed", cause: error))
                }
            }
            var records: [IndexFile.PackRecord] = []
            for ((pack, _), result) in zip(packs, results) {
                switch result {
                case .success(let record): records.append(record)
                case .failure(let error): report.unreadablePacks.append((pack, "\(error)"))
                }
            }
            let old = try await store.list(.index)
            try lease.ensureValid()
            _ = try await saveIndexObjects(records)
            for info in old {
                try await store.delete(info.name)
                report.indexObjectsReplaced += 1
            }
            report.packsIndexed = records.count
            return report
        }
    }
}

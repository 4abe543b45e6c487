/// Sizes of a repository's content.
package struct RepositoryStats: Sendable, Codable {
    package var snapshots = 0
    /// Sum of all snapshots' dump sizes.
    package var logicalBytes = 0
    /// Distinct chunks referenced by snapshots.
    package var uniqueChunks = 0
    /// Their size before compression.
    package var uniqueBytes = 0
    /// Their size compressed and sealed.
    package var storedChunkBytes = 0
    package var packs = 0
    /// All pack files in the store, garbage included.
    package var packBytes = 0

    /// Logical bytes per unique byte: how much deduplication saves.
    package var deduplicationRatio: Double {
        uniqueBytes == 0 ? 0 : Double(logicalBytes) / Double(uniqueBytes)
    }
    /// Unique bytes per stored byte: how much compression saves.
    package var compressionRatio: Double {
        storedChunkBytes == 0 ? 0 : Double(uniqueBytes) / Double(storedChunkBytes)
    }
}

extension Repository {
    /// Counts what the repository holds.
    package func stats() async throws -> RepositoryStats {
        let (index, _, _) = try await loadIndex()
        let (snapshots, _) = try await loadSnapshots()
        var stats = RepositoryStats()
        stats.snapshots = snapshots.count
        var unique = Set<ChunkID>()
        for snapshot in snapshots {
            stats.logicalBytes += snapshot.size
            for chunk in snapshot.chunks where unique.insert(chunk).inserted {
                if let location = index.location(of: chunk) {
                    stats.uniqueBytes += location.entry.rawLength
                    stats.storedChunkBytes += location.entry.length
                }
            }
        }
        stats.uniqueChunks = unique.count
        let packs = try await store.list(.data)
        stats.packs = packs.count
        stats.packBytes = packs.reduce(0) { $0 + $1.size }
        return stats
    }
}

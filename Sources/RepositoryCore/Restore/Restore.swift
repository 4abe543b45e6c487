import Logging

/// Counters of a running restore.
package struct RestoreProgress: Sendable {
    package var bytesWritten = 0
    package var totalBytes = 0
}

/// Another source of a chunk that is missing or damaged here (another tier): returns the
/// chunk's bytes, already checked against its ID, or nil.
package typealias ChunkFallback = @Sendable (ChunkID) async -> [UInt8]?

extension Repository {
    /// Writes a snapshot's dump to `sink`, in order (FORMAT.md §10, "Restore").
    ///
    /// Up to `2 × maxConcurrentRequests` chunks are read and opened in parallel; each is
    /// authenticated and checked against its ID before any of its bytes reach `sink`, so a
    /// damaged repository fails the restore instead of emitting wrong bytes. A chunk that is
    /// missing or fails authentication is asked of `fallback` (another tier) before the
    /// restore gives up.
    /// - Throws: `.integrity` naming the chunk and pack when data is missing or damaged.
    package func restore(
        _ snapshot: Snapshot, index: RepositoryIndex, fallback: ChunkFallback? = nil,
        to sink: ([UInt8]) async throws -> Void,
        progress: @Sendable (RestoreProgress) -> Void = { _ in }
    ) async throws {
        try await withLock(.shared, operation: "restore") { _ in
            try await restoreChunks(
                snapshot, index: index, fallback: fallback, to: sink, progress: progress)
        }
    }

    private func restoreChunks(
        _ snapshot: Snapshot, index: RepositoryIndex, fallback: ChunkFallback?,
        to sink: ([UInt8]) async throws -> Void,
        progress: @Sendable (RestoreProgress) -> Void
    ) async throws {
        var locations: [(ChunkID, BlobLocation?)] = []
        locations.reserveCapacity(snapshot.chunks.count)
        for id in snapshot.chunks {
            let location = index.location(of: id)
            if location == nil && fallback == nil {
                throw RepositoryError(
                    .integrity,
                    "chunk \(id) of snapshot \(snapshot.id.shortDescription) is in no index")
            }
            locations.append((id, location))
        }
        var counters = RestoreProgress(totalBytes: snapshot.size)
        let window = max(4, 2 * store.maxConcurrentRequests)
        try await withThrowingTaskGroup(of: (Int, [UInt8]).self) { group in
            var next = 0
            var emitted = 0
            var ready: [Int: [UInt8]] = [:]
            func schedule() {
                guard next < locations.count else { return }
                let (sequence, location) = (next, locations[next])
                group.addTask {
                    (
                        sequence,
                        try await self.readChunk(location.0, at: location.1, fallback: fallback)
                    )
                }
                next += 1
            }
            while next < min(window, locations.count) { schedule() }
            while emitted < locations.count {
                guard let (sequence, bytes) = try await group.next() else { break }
                ready[sequence] = bytes
                while let bytes = ready.removeValue(forKey: emitted) {
                    try await sink(bytes)
                    emitted += 1
                    counters.bytesWritten += bytes.count
                    progress(counters)
                    schedule()
                }
            }
        }
        guard counters.bytesWritten == snapshot.size else {
            throw RepositoryError(
                .integrity,
                "snapshot \(snapshot.id.shortDescription) restored \(counters.bytesWritten) bytes, expected \(snapshot.size)"
            )
        }
    }

    /// Reads one chunk here, or from `fallback` when it is missing or damaged here.
    private func readChunk(
        _ id: ChunkID, at location: BlobLocation?, fallback: ChunkFallback?
    ) async throws -> [UInt8] {
        let failure: RepositoryError
        if let location {
            do {
                return try await readBlob(location)
            } catch let error as RepositoryError where error.code == .integrity {
                failure = error
            }
        } else {
            failure = RepositoryError(.integrity, "chunk \(id) is in no index of \(store.name)")
        }
        guard let fallback, let bytes = await fallback(id) else { throw failure }
        logger.warning(
            "chunk read from another tier",
            metadata: ["chunk.id": "\(id)", "store.name": "\(store.name)", "error": "\(failure)"])
        return bytes
    }
}

/// Counters of a running restore.
package struct RestoreProgress: Sendable {
    package var bytesWritten = 0
    package var totalBytes = 0
}

extension Repository {
    /// Writes a snapshot's dump to `sink`, in order (FORMAT.md §10, "Restore").
    ///
    /// Up to `2 × maxConcurrentRequests` chunks are read and opened in parallel; each is
    /// authenticated and checked against its ID before any of its bytes reach `sink`, so a
    /// damaged repository fails the restore instead of emitting wrong bytes.
    /// - Throws: `.integrity` naming the chunk and pack when data is missing or damaged.
    package func restore(
        _ snapshot: Snapshot, index: RepositoryIndex,
        to sink: ([UInt8]) async throws -> Void,
        progress: @Sendable (RestoreProgress) -> Void = { _ in }
    ) async throws {
        try await withLock(.shared, operation: "restore") { _ in
            try await restoreChunks(snapshot, index: index, to: sink, progress: progress)
        }
    }

    private func restoreChunks(
        _ snapshot: Snapshot, index: RepositoryIndex, to sink: ([UInt8]) async throws -> Void,
        progress: @Sendable (RestoreProgress) -> Void
    ) async throws {
        var locations: [BlobLocation] = []
        locations.reserveCapacity(snapshot.chunks.count)
        for id in snapshot.chunks {
            guard let location = index.location(of: id) else {
                throw RepositoryError(
                    .integrity,
                    "chunk \(id) of snapshot \(snapshot.id.shortDescription) is in no index")
            }
            locations.append(location)
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
                group.addTask { (sequence, try await self.readBlob(location)) }
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
}

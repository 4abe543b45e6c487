import Foundation
import Logging
import Synchronization

/// Who a backup is for; recorded in the snapshot.
package struct BackupRequest: Sendable {
    package var agent: String
    package var component: String
    package var kind: String
    package var tags: [String]
    package var hostname: String

    package init(
        agent: String, component: String, kind: String = "stream", tags: [String] = [],
        hostname: String = Host.name
    ) {
        (self.agent, self.component, self.kind, self.tags, self.hostname) = (
            agent, component, kind, tags, hostname
        )
    }

    func validate() throws {
        for (field, value) in [("agent", agent), ("component", component), ("kind", kind)] {
            guard !value.isEmpty, value.count <= 128,
                !value.contains(where: { $0.isNewline || $0 == "/" })
            else {
                throw RepositoryError(
                    .invalidArgument, "\(field) must be 1-128 characters without '/' or newlines")
            }
        }
    }
}

/// Counters of a running backup, reported as it goes.
package struct BackupProgress: Sendable {
    /// Dump bytes consumed.
    package var bytesRead = 0
    /// Bytes written to the store so far.
    package var bytesAdded = 0
    package var chunks = 0
    package var newChunks = 0
}

/// What a finished backup did.
package struct BackupResult: Sendable {
    package var snapshot: Snapshot
    package var newChunks: Int
    package var packsWritten: Int
}

/// A dump read straight into the chunker's buffer (a file or a pipe), sparing the copy out
/// of the blocks an `AsyncSequence` yields. Calls come one at a time.
package protocol DumpReader: Sendable {
    /// Reads into `buffer` until it is full or the dump ends.
    ///
    /// `buffer` is valid only during the call: every write to it must be finished, and no
    /// pointer into it kept, before this returns or throws, also when the task is cancelled.
    /// - Parameter buffer: where to write; its previous contents do not matter.
    /// - Returns: the bytes written, fewer than `buffer.count` only at the end of the dump.
    /// - Throws: when the dump cannot be read; the backup then fails without a snapshot.
    func read(into buffer: UnsafeMutableRawBufferPointer) async throws -> Int
}

extension Repository {
    /// Reads a dump to its end and stores it as a new snapshot (FORMAT.md §10, "Backup").
    ///
    /// Pipeline: the caller's task reads and chunks; up to `2 × cores` child tasks hash,
    /// deduplicate, compress, seal and pack; full packs are written by the task that filled
    /// them. Memory stays within (window × max chunk) + (packs in flight × pack size).
    /// Order of writes: packs, then the index naming them, then the snapshot. A backup that
    /// fails before its index is written deletes its packs; one that is killed leaves at most
    /// unreferenced packs (prune removes them), never a snapshot.
    /// - Throws: whatever the dump throws (no snapshot is written), `.locked`, storage errors.
    package func backup<Dump: AsyncSequence>(
        _ dump: Dump, request: BackupRequest,
        progress: @Sendable (BackupProgress) -> Void = { _ in }
    ) async throws -> BackupResult where Dump.Element: Collection<UInt8> {
        var blocks = dump.makeAsyncIterator()
        return try await ingest(request: request, progress: progress) { chunker in
            guard let block = try await blocks.next() else { return false }
            chunker.append(block)
            return true
        }
    }

    /// ``backup(_:request:progress:)`` for a dump read 1 MiB at a time straight into the
    /// chunker's buffer.
    package func backup(
        reading dump: some DumpReader, request: BackupRequest,
        progress: @Sendable (BackupProgress) -> Void = { _ in }
    ) async throws -> BackupResult {
        try await ingest(request: request, progress: progress) { chunker in
            // A short read is the end of the dump: no further read (a terminal would wait).
            let size = 1 << 20
            return try await chunker.append(upTo: size) { try await dump.read(into: $0) } == size
        }
    }

    /// Runs the backup pipeline under a shared lock; `feed` adds the next input to the
    /// chunker and returns false at the end of the dump.
    private func ingest(
        request: BackupRequest, progress: @Sendable (BackupProgress) -> Void,
        feed: (inout Chunker) async throws -> Bool
    ) async throws -> BackupResult {
        try request.validate()
        return try await withLock(.shared, operation: "backup") { lease in
            try await pipeline(request: request, lease: lease, progress: progress, feed: feed)
        }
    }

    private func pipeline(
        request: BackupRequest, lease: LockLease,
        progress: @Sendable (BackupProgress) -> Void,
        feed: (inout Chunker) async throws -> Bool
    ) async throws -> BackupResult {
        let startTime = Date()
        var logger = self.logger
        logger[metadataKey: "component"] = "\(request.agent)/\(request.component)"
        let (index, _, unreadable) = try await loadIndex()
        for failure in unreadable {
            logger.info(
                "ignoring unreadable index object",
                metadata: ["object": "\(failure.name)", "error": "\(failure.error)"])
        }
        let sink = PackSink(repository: self)
        var chunker = makeChunker()
        var ids: [ChunkID] = []
        var counters = BackupProgress()
        let window = 2 * ProcessInfo.processInfo.activeProcessorCount + 2

        do {
            try await withThrowingTaskGroup(of: (Int, ChunkID, Bool).self) { group in
                var inFlight = 0
                func collect(_ result: (Int, ChunkID, Bool)) {
                    ids[result.0] = result.1
                    if result.2 { counters.newChunks += 1 }
                    inFlight -= 1
                }
                func submit(_ chunk: Chunk) async throws {
                    if inFlight >= window, let result = try await group.next() { collect(result) }
                    let sequence = ids.count
                    ids.append(ChunkID(Digest256(bytes: [UInt8](repeating: 0, count: 32))))
                    counters.bytesRead += chunk.count
                    counters.chunks += 1
                    inFlight += 1
                    group.addTask {
                        let id = self.keys.chunkID(chunk)
                        let isNew = !index.canDeduplicate(id) && sink.claim(id)
                        if isNew { try await sink.add(id: id, chunk: chunk) }
                        return (sequence, id, isNew)
                    }
                    counters.bytesAdded = sink.bytesWritten
                    progress(counters)
                }
                while try await feed(&chunker) {
                    while let chunk = chunker.next(isFinal: false) { try await submit(chunk) }
                }
                while let chunk = chunker.next(isFinal: true) { try await submit(chunk) }
                while let result = try await group.next() { collect(result) }
            }
            try await sink.flush()
            try lease.ensureValid()
        } catch {
            // No index names these packs yet, so no other operation can use them: freeing
            // them now gives the space back at once (a full disk is the usual cause).
            await sink.discardWrittenPacks(logger: logger)
            throw error
        }
        let packs = sink.writtenPacks
        var bytesAdded = packs.reduce(0) { $0 + $1.size }
        if !packs.isEmpty {
            let (objects, indexSize) = try await saveIndexObjects(packs)
            bytesAdded += indexSize
            logger.debug(
                "index written",
                metadata: ["index.objects": "\(objects)", "packs": "\(packs.count)"])
        }
        let snapshot = try await saveSnapshot(
            Snapshot(
                id: SnapshotID(Digest256(bytes: [UInt8](repeating: 0, count: 32))),
                agent: request.agent,
                component: request.component, kind: request.kind, tags: request.tags,
                hostname: request.hostname,
                startTime: startTime, endTime: Date(), size: counters.bytesRead,
                bytesAdded: bytesAdded, chunks: ids))
        counters.bytesAdded = bytesAdded
        progress(counters)
        logger.debug(
            "snapshot saved",
            metadata: [
                "snapshot.id": "\(snapshot.id)", "bytes.total": "\(snapshot.size)",
                "bytes.added": "\(bytesAdded)",
                "chunks.new": "\(counters.newChunks)",
            ])
        return BackupResult(
            snapshot: snapshot, newChunks: counters.newChunks, packsWritten: packs.count)
    }
}

/// Collects sealed blobs into packs and writes each pack when it is full.
final class PackSink: Sendable {
    private struct State {
        var builder: Pack.Builder
        var written: [IndexFile.PackRecord] = []
        /// Every pack a write was started for, also those whose write failed.
        var attempted: [ObjectName] = []
        var bytesWritten = 0
        var claimed: Set<ChunkID> = []
        /// Buffers of written packs, reused for the next ones: fresh 16 MiB buffers cost a
        /// page fault per 4 KiB as they fill.
        var spareBuffers: [[UInt8]] = []

        mutating func nextBuilder(capacity: Int) -> Pack.Builder {
            Pack.Builder(capacity: capacity, reusing: spareBuffers.popLast())
        }
    }

    private let repository: Repository
    private let state: Mutex<State>
    private let capacity: Int

    init(repository: Repository) {
        self.repository = repository
        capacity = repository.config.packSize + repository.config.chunker.maximumSize + 1024
        state = Mutex(State(builder: Pack.Builder(capacity: capacity)))
    }

    var bytesWritten: Int { state.withLock { $0.bytesWritten } }
    var writtenPacks: [IndexFile.PackRecord] { state.withLock { $0.written } }

    /// True for the first caller with this ID: that caller stores the chunk.
    func claim(_ id: ChunkID) -> Bool {
        state.withLock { $0.claimed.insert(id).inserted }
    }

    /// Seals a chunk and adds it; writes the pack if that filled it.
    func add(id: ChunkID, chunk: Chunk) async throws {
        let (sealed, compression) = try repository.sealBlob(id: id, chunk: chunk)
        try await add(id: id, compression: compression, rawLength: chunk.count, sealed: sealed)
    }

    /// Adds an already sealed blob (prune's repacking copies blobs without opening them).
    func add(id: ChunkID, compression: Compression, rawLength: Int, sealed: [UInt8]) async throws {
        let full: Pack.Builder? = state.withLock { state in
            state.builder.append(
                id: id, compression: compression, rawLength: rawLength, sealed: sealed)
            guard state.builder.size >= repository.config.packSize else { return nil }
            return state.builder.take(replacingWith: state.nextBuilder(capacity: capacity))
        }
        if let full { try await write(full) }
    }

    /// Writes the partly filled pack, if any.
    func flush() async throws {
        let last: Pack.Builder? = state.withLock { state in
            guard !state.builder.isEmpty else { return nil }
            return state.builder.take(replacingWith: Pack.Builder(capacity: 0))
        }
        if let last { try await write(last) }
    }

    /// Deletes every pack this sink wrote or began to write, for an operation that failed
    /// before any index named them. Runs also when the caller was cancelled; stops at the
    /// first failure (the store is likely unreachable), leaving the rest to prune.
    func discardWrittenPacks(logger: Logger) async {
        let names = state.withLock { $0.attempted }
        guard !names.isEmpty else { return }
        // A task of its own, so that the caller's cancellation does not stop the deletes.
        await Task {
            var deleted = 0
            for name in names {
                do {
                    try await repository.store.delete(name)
                    deleted += 1
                } catch let error as StorageError where error.code == .notFound {
                    continue
                } catch {
                    logger.warning(
                        "could not delete the packs of a failed operation; prune will",
                        metadata: [
                            "packs.deleted": "\(deleted)", "pack": "\(name.name)",
                            "error": "\(error)",
                        ])
                    return
                }
            }
            logger.info(
                "deleted the packs of a failed operation", metadata: ["packs": "\(deleted)"])
        }.value
    }

    /// Takes the builder so the pack is finished in its buffer, without a copy.
    private func write(_ builder: consuming Pack.Builder) async throws {
        let (id, bytes, entries) = try builder.finish(keys: repository.keys)
        // Re-read what we are about to write: the header must parse back to the same entries.
        guard try Pack.entries(of: bytes, keys: repository.keys) == entries else {
            throw RepositoryError(.integrity, "pack \(id) does not read back as written")
        }
        let name = ObjectName(.data, id.digest.hex)
        state.withLock { $0.attempted.append(name) }
        do {
            try await repository.store.put(name, bytes)
        } catch let error as StorageError where error.code == .alreadyExists {
            // Same name means same bytes (content-named): nothing to do.
        } catch {
            throw RepositoryError(
                .storage, "writing pack \(id.shortDescription) to \(repository.store.name) failed",
                cause: error)
        }
        repository.logger.debug(
            "pack written",
            metadata: [
                "pack.id": "\(id)", "pack.blobs": "\(entries.count)", "bytes": "\(bytes.count)",
            ])
        let size = bytes.count
        state.withLock {
            $0.written.append(IndexFile.PackRecord(id: id, size: size, entries: entries))
            $0.bytesWritten += size
            if $0.spareBuffers.count < 2 { $0.spareBuffers.append(bytes) }
        }
    }
}

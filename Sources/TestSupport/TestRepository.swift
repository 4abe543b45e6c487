package import Logging
package import RepositoryCore
import Synchronization

/// Helpers to build real repositories on real stores for tests (restic's `TestRepository`).
package enum TestRepository {
    package static let password = Array("correct horse battery staple".utf8)

    /// Small chunks and packs so tests exercise many of each with little data.
    package static let smallConfig = RepositoryConfig(
        chunker: ChunkerParameters(
            minimumSize: 16 * 1024, averageSize: 64 * 1024, maximumSize: 256 * 1024),
        packSize: 1024 * 1024)

    package static var logger: Logger {
        var logger = Logger(label: "test")
        logger.logLevel = .warning
        return logger
    }

    /// A new repository on `store` (in memory by default), with cheap key derivation.
    package static func make(
        store: any BlobStore = InMemoryBlobStore(), config: RepositoryConfig = smallConfig
    ) async throws -> Repository {
        try await Repository.initialize(
            store: store, password: password, config: config, keyDerivation: .insecureForTestsOnly,
            logger: logger)
    }

    /// A new repository in memory behind a ``FaultyBlobStore``: faults are set on `store`,
    /// and `memory` shows what really landed.
    package static func makeWithFaults() async throws -> (
        repository: Repository, store: FaultyBlobStore, memory: InMemoryBlobStore
    ) {
        let memory = InMemoryBlobStore()
        let store = FaultyBlobStore(memory)
        return (try await make(store: store), store, memory)
    }

    /// Backs up `bytes`, fed in blocks of `blockSize`.
    package static func backup(
        _ repository: Repository, _ bytes: [UInt8], component: String = "db",
        blockSize: Int = 100_000
    ) async throws -> BackupResult {
        try await repository.backup(
            Blocks(bytes: bytes, blockSize: blockSize),
            request: BackupRequest(agent: "test", component: component))
    }

    /// Restores a snapshot into memory.
    package static func restore(
        _ repository: Repository, _ snapshot: Snapshot
    ) async throws -> [UInt8] {
        let (index, _, _) = try await repository.loadIndex()
        var output: [UInt8] = []
        try await repository.restore(snapshot, index: index, to: { output.append(contentsOf: $0) })
        return output
    }
}

/// A byte array as an async sequence of blocks: a dump for tests.
package struct Blocks: AsyncSequence, Sendable {
    package typealias Element = [UInt8]
    let bytes: [UInt8]
    let blockSize: Int

    package init(bytes: [UInt8], blockSize: Int) {
        (self.bytes, self.blockSize) = (bytes, blockSize)
    }

    package struct AsyncIterator: AsyncIteratorProtocol {
        let bytes: [UInt8]
        let blockSize: Int
        var offset = 0
        package mutating func next() async -> [UInt8]? {
            guard offset < bytes.count else { return nil }
            defer { offset += blockSize }
            return Array(bytes[offset..<Swift.min(offset + blockSize, bytes.count)])
        }
    }

    package func makeAsyncIterator() -> AsyncIterator {
        AsyncIterator(bytes: bytes, blockSize: blockSize)
    }
}

/// A dump that fails after yielding some blocks, like a `pg_dump` that dies midway.
package struct FailingDump: AsyncSequence, Sendable {
    package typealias Element = [UInt8]
    let blocks: [[UInt8]]

    package init(blocks: [[UInt8]]) { self.blocks = blocks }

    package struct DumpFailed: Error {}

    package struct AsyncIterator: AsyncIteratorProtocol {
        var remaining: [[UInt8]]
        package mutating func next() async throws -> [UInt8]? {
            guard !remaining.isEmpty else { throw DumpFailed() }
            return remaining.removeFirst()
        }
    }

    package func makeAsyncIterator() -> AsyncIterator { AsyncIterator(remaining: blocks) }
}

/// A byte array as a ``DumpReader``: the path of `repo backup`, which reads into the chunker's
/// buffer. With `failingAfter`, a read past that many bytes throws `FailingDump.DumpFailed`,
/// like a `pg_dump` that dies midway.
package final class BytesReader: DumpReader {
    private let bytes: [UInt8]
    private let failingAfter: Int?
    private let offset = Mutex(0)

    package init(bytes: [UInt8], failingAfter: Int? = nil) {
        (self.bytes, self.failingAfter) = (bytes, failingAfter)
    }

    package func read(into buffer: UnsafeMutableRawBufferPointer) async throws -> Int {
        try offset.withLock { offset in
            let count = min(buffer.count, bytes.count - offset)
            if let failingAfter, offset + buffer.count > failingAfter {
                throw FailingDump.DumpFailed()
            }
            bytes[offset..<offset + count].withUnsafeBytes { buffer.copyMemory(from: $0) }
            offset += count
            return count
        }
    }
}

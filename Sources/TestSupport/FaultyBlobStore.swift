package import RepositoryCore
import Synchronization

/// Wraps a store and injects faults (STYLE §8): fail the Nth matching call, flip a byte of
/// the next read, truncate reads, delay calls. Every retry and integrity path is tested with it.
package final class FaultyBlobStore: BlobStore {
    package enum Operation: Sendable, Hashable { case put, get, size, list, delete }

    package struct Fault: Sendable {
        var operation: Operation
        var kind: ObjectKind?
        var remainingSkips: Int
        var error: StorageError
    }

    private struct State {
        var faults: [Fault] = []
        var flipNextRead: ObjectKind?
        var truncateReads: ObjectKind?
        var calls: [Operation: Int] = [:]
    }

    private let base: any BlobStore
    private let state = Mutex(State())
    package var name: String { base.name }
    package var maxConcurrentRequests: Int { base.maxConcurrentRequests }

    package init(_ base: any BlobStore) { self.base = base }

    /// The `after`+1-th `operation` on `kind` (any kind when nil) throws `error`, once.
    package func fail(
        _ operation: Operation, kind: ObjectKind? = nil, after: Int = 0, with error: StorageError
    ) {
        state.withLock {
            $0.faults.append(
                Fault(operation: operation, kind: kind, remainingSkips: after, error: error))
        }
    }

    /// Removes faults that have not fired yet; returns how many there were.
    @discardableResult
    package func clearFaults() -> Int {
        state.withLock { state in
            defer { state.faults = [] }
            return state.faults.count
        }
    }

    /// The next read of an object of `kind` returns one byte flipped.
    package func flipByteOfNextRead(_ kind: ObjectKind) {
        state.withLock { $0.flipNextRead = kind }
    }

    /// Reads of `kind` return one byte less than asked, until reset.
    package func truncateReads(_ kind: ObjectKind?) { state.withLock { $0.truncateReads = kind } }

    /// Calls seen so far per operation.
    package func calls(_ operation: Operation) -> Int {
        state.withLock { $0.calls[operation, default: 0] }
    }

    private func inject(_ operation: Operation, _ kind: ObjectKind?) throws {
        let error: StorageError? = state.withLock { state in
            state.calls[operation, default: 0] += 1
            guard
                let index = state.faults.firstIndex(where: {
                    $0.operation == operation && ($0.kind == nil || $0.kind == kind)
                })
            else {
                return nil
            }
            if state.faults[index].remainingSkips > 0 {
                state.faults[index].remainingSkips -= 1
                return nil
            }
            return state.faults.remove(at: index).error
        }
        if let error { throw error }
    }

    package func put(_ name: ObjectName, _ bytes: [UInt8]) async throws {
        try inject(.put, name.kind)
        try await base.put(name, bytes)
    }

    package func get(_ name: ObjectName, range: Range<Int>?) async throws -> [UInt8] {
        try inject(.get, name.kind)
        var bytes = try await base.get(name, range: range)
        let (flip, truncate) = state.withLock { state in
            defer { if state.flipNextRead == name.kind { state.flipNextRead = nil } }
            return (state.flipNextRead == name.kind, state.truncateReads == name.kind)
        }
        if flip, !bytes.isEmpty { bytes[bytes.count / 2] ^= 0x01 }
        if truncate, !bytes.isEmpty { bytes.removeLast() }
        return bytes
    }

    package func size(of name: ObjectName) async throws -> Int {
        try inject(.size, name.kind)
        return try await base.size(of: name)
    }

    package func list(_ kind: ObjectKind) async throws -> [ObjectInfo] {
        try inject(.list, kind)
        return try await base.list(kind)
    }

    package func delete(_ name: ObjectName) async throws {
        try inject(.delete, name.kind)
        try await base.delete(name)
    }

    package func discardIncompleteWrites(olderThan age: Double) async throws -> Int {
        try await base.discardIncompleteWrites(olderThan: age)
    }
}

import Synchronization

/// One lock per key, taken in arrival order: bodies for the same key run one at a time,
/// bodies for different keys run freely.
///
/// Waiting is not cancellable: the holder's body is bounded and the waiter checks for
/// cancellation in its own body.
final class KeyedAsyncLock<Key: Hashable & Sendable>: Sendable {
    /// For each held key, the tasks waiting for it.
    private let held = Mutex<[Key: [CheckedContinuation<Void, Never>]]>([:])

    init() {}

    /// Runs `body` holding the lock for `key`.
    func withLock<T>(_ key: Key, _ body: () async throws -> T) async throws -> T {
        await withCheckedContinuation { continuation in
            let isFree = held.withLock { held in
                guard held[key] != nil else {
                    held[key] = []
                    return true
                }
                held[key]?.append(continuation)
                return false
            }
            if isFree { continuation.resume() }
        }
        defer { release(key) }
        return try await body()
    }

    private func release(_ key: Key) {
        let next = held.withLock { held -> CheckedContinuation<Void, Never>? in
            guard var waiters = held[key], !waiters.isEmpty else {
                held[key] = nil
                return nil
            }
            let first = waiters.removeFirst()
            held[key] = waiters
            return first
        }
        next?.resume()
    }
}

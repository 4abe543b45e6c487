package import Logging

/// Retries `.transient` failures of another store with exponential backoff and full jitter
/// (restic's backend retry); every other error passes through at once.
///
/// A retried write may have landed before its answer was lost: when a `put` retried after a
/// transient failure meets `.alreadyExists`, the stored object is read back and the put
/// succeeds only if it holds exactly these bytes. A retried `delete` that meets `.notFound`
/// succeeds likewise.
package struct RetryingBlobStore<Base: BlobStore>: BlobStore {
    package struct Policy: Sendable {
        /// Attempts in all, the first included.
        package var attempts: Int
        package var initialDelay: Duration
        package var maximumDelay: Duration

        package init(
            attempts: Int = 6, initialDelay: Duration = .milliseconds(200),
            maximumDelay: Duration = .seconds(10)
        ) {
            (self.attempts, self.initialDelay, self.maximumDelay) = (
                max(1, attempts), initialDelay, maximumDelay
            )
        }
    }

    package let base: Base
    package let policy: Policy
    private let logger: Logger
    package var name: String { base.name }
    package var maxConcurrentRequests: Int { base.maxConcurrentRequests }

    package init(_ base: Base, policy: Policy = Policy(), logger: Logger) {
        (self.base, self.policy, self.logger) = (base, policy, logger)
    }

    package func put(_ name: ObjectName, _ bytes: [UInt8]) async throws {
        var failedBefore = false
        try await retrying("put \(name)") {
            do {
                try await base.put(name, bytes)
            } catch let error as StorageError where error.code == .alreadyExists && failedBefore {
                guard try await base.get(name) == bytes else { throw error }
            } catch let error as StorageError where error.code == .transient {
                failedBefore = true
                throw error
            }
        }
    }

    package func get(_ name: ObjectName, range: Range<Int>?) async throws -> [UInt8] {
        try await retrying("get \(name)") { try await base.get(name, range: range) }
    }

    package func size(of name: ObjectName) async throws -> Int {
        try await retrying("size of \(name)") { try await base.size(of: name) }
    }

    package func list(_ kind: ObjectKind) async throws -> [ObjectInfo] {
        try await retrying("list \(kind.rawValue)") { try await base.list(kind) }
    }

    package func delete(_ name: ObjectName) async throws {
        var failedBefore = false
        try await retrying("delete \(name)") {
            do {
                try await base.delete(name)
            } catch let error as StorageError where error.code == .notFound && failedBefore {
                return
            } catch let error as StorageError where error.code == .transient {
                failedBefore = true
                throw error
            }
        }
    }

    package func discardIncompleteWrites(olderThan age: Double) async throws -> Int {
        try await retrying("discard unfinished writes") {
            try await base.discardIncompleteWrites(olderThan: age)
        }
    }

    private func retrying<T>(_ action: String, _ body: () async throws -> T) async throws -> T {
        var attempt = 1
        var delay = policy.initialDelay
        while true {
            do {
                return try await body()
            } catch let error as StorageError
                where error.code == .transient && attempt < policy.attempts
            {
                let pause = delay * Double.random(in: 0...1)
                logger.info(
                    "store request failed, retrying",
                    metadata: [
                        "store.name": "\(base.name)", "action": "\(action)",
                        "attempt": "\(attempt)", "error": "\(error.message)",
                    ])
                try await Task.sleep(for: pause)
                attempt += 1
                delay = min(delay * 2, policy.maximumDelay)
            }
        }
    }
}

import Foundation
import Logging
import Synchronization

/// Kinds of repository lock (FORMAT.md §9).
package enum LockMode: String, Codable, Sendable {
    /// Backup, restore, check, forget: many may run together.
    case shared
    /// Prune: runs alone, so it never deletes data a running backup may reference.
    case exclusive
}

/// A lock object's sealed content.
struct LockRecord: Codable, Sendable {
    var mode: LockMode
    var operation: String
    var hostname: String
    var pid: Int32
    var time: Date
}

extension Repository {
    /// Locks older than this are stale and ignored (their holder died without removing them).
    package static let lockStaleAfter: Duration = .seconds(30 * 60)
    /// Live locks are rewritten this often.
    package static let lockRefreshInterval: Duration = .seconds(5 * 60)

    /// Runs `body` holding a lock: shared locks conflict only with exclusive ones.
    ///
    /// The lock object is refreshed while `body` runs and removed afterwards, also when
    /// `body` throws.
    /// - Throws: `.locked` naming the conflicting holder.
    package func withLock<T: Sendable>(
        _ mode: LockMode, operation: String, _ body: () async throws -> T
    ) async throws -> T {
        let lock = try await acquireLock(mode, operation: operation)
        let holder = LockHolder(name: lock)
        do {
            let result = try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try await self.refreshLock(holder, mode: mode, operation: operation) }
                defer { group.cancelAll() }
                return try await body()
            }
            try? await store.delete(holder.current)
            return result
        } catch {
            try? await store.delete(holder.current)
            throw error
        }
    }

    private func acquireLock(_ mode: LockMode, operation: String) async throws -> ObjectName {
        let ours = try await writeLock(mode, operation: operation)
        do {
            for info in try await store.list(.locks) where info.name != ours {
                guard let record = try? await readLock(info.name) else { continue }
                let age = Date().timeIntervalSince(record.time)
                guard age < Double(Self.lockStaleAfter.components.seconds) else { continue }
                if mode == .exclusive || record.mode == .exclusive {
                    throw RepositoryError(
                        .locked,
                        "repository is locked (\(record.mode.rawValue)) by \(record.operation) on \(record.hostname) "
                            + "pid \(record.pid) since \(Timestamp.format(record.time))")
                }
            }
        } catch {
            try? await store.delete(ours)
            throw error
        }
        return ours
    }

    private func writeLock(_ mode: LockMode, operation: String) async throws -> ObjectName {
        let record = LockRecord(mode: mode, operation: operation, hostname: Host.name, pid: ProcessInfo.processInfo.processIdentifier, time: Date())
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .millisecondsSince1970
        let sealed = try sealObject(.locks, Array(try encoder.encode(record)))
        let name = ObjectName(.locks, RepositoryConfig.randomID() + RepositoryConfig.randomID())
        try await store.put(name, sealed)
        return name
    }

    private func readLock(_ name: ObjectName) async throws -> LockRecord {
        let plain = try unsealObject(.locks, try await store.get(name), name: name.name)
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .millisecondsSince1970
        return try decoder.decode(LockRecord.self, from: Data(plain))
    }

    private func refreshLock(_ holder: LockHolder, mode: LockMode, operation: String) async throws {
        while true {
            try await Task.sleep(for: Self.lockRefreshInterval)
            let fresh = try await writeLock(mode, operation: operation)
            let old = holder.replace(with: fresh)
            try? await store.delete(old)
            logger.debug("lock refreshed", metadata: ["lock.name": "\(fresh.name)"])
        }
    }
}

/// The current name of a lock that is rewritten on refresh.
private final class LockHolder: Sendable {
    private let name: Mutex<ObjectName>
    init(name: ObjectName) { self.name = Mutex(name) }
    var current: ObjectName { name.withLock { $0 } }
    func replace(with fresh: ObjectName) -> ObjectName {
        name.withLock { old in defer { old = fresh }; return old }
    }
}

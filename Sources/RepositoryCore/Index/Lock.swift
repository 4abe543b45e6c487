import Foundation
import Logging
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// Kinds of repository lock (FORMAT.md §9).
package enum LockMode: String, Codable, Sendable {
    /// Backup, restore, check, forget: many may run together, and beside one prune.
    case shared
    /// Prune: one at a time, beside shared holders. It deletes only what was announced
    /// before every shared holder that might still reference it started (FORMAT.md §10).
    case prune
    /// Index rebuild: runs alone.
    case exclusive

    func conflicts(with other: LockMode) -> Bool {
        switch (self, other) {
        case (.exclusive, _), (_, .exclusive), (.prune, .prune): true
        default: false
        }
    }
}

/// A lock object's sealed content.
struct LockRecord: Codable, Sendable {
    var mode: LockMode
    var operation: String
    var hostname: String
    var pid: Int32
    var time: Date
    /// Stays the same across refreshes, so prune can tell when a holder has gone.
    var holder: String?
}

/// A live lock as another operation sees it.
package struct LockHolder: Sendable, Hashable {
    package var id: String
    package var mode: LockMode
    package var operation: String
}

extension Repository {
    /// Locks older than this are stale and ignored (their holder died without removing them).
    package static let lockStaleAfter: Duration = .seconds(30 * 60)
    /// Live locks are rewritten this often.
    package static let lockRefreshInterval: Duration = .seconds(5 * 60)

    /// Runs `body` holding a lock: shared locks conflict only with exclusive ones.
    ///
    /// The lock object is refreshed while `body` runs and removed afterwards, also when
    /// `body` throws. Before making its work visible (an index, a snapshot, a deletion),
    /// `body` calls ``LockLease/ensureValid()``: a lock that could not be refreshed for too
    /// long may look stale to others, who may then prune what `body` wrote.
    /// - Throws: `.locked` naming the conflicting holder.
    package func withLock<T: Sendable>(
        _ mode: LockMode, operation: String, _ body: (LockLease) async throws -> T
    ) async throws -> T {
        let holder = RepositoryConfig.randomID()
        let lease = LockLease(
            name: try await acquireLock(mode, operation: operation, holder: holder),
            holder: holder)
        do {
            let result = try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask {
                    try await self.refreshLock(lease, mode: mode, operation: operation)
                }
                defer { group.cancelAll() }
                return try await body(lease)
            }
            try? await store.delete(lease.current)
            return result
        } catch {
            try? await store.delete(lease.current)
            throw error
        }
    }

    private func acquireLock(
        _ mode: LockMode, operation: String, holder: String
    ) async throws -> ObjectName {
        let ours = try await writeLock(mode, operation: operation, holder: holder)
        do {
            _ = try await liveLocks(conflictingWith: mode, except: ours)
        } catch {
            try? await store.delete(ours)
            throw error
        }
        return ours
    }

    /// Every live lock other than `ours`.
    /// - Throws: `.locked` when one conflicts with `mode` or cannot be read.
    func liveLocks(
        conflictingWith mode: LockMode, except ours: ObjectName
    ) async throws -> [LockHolder] {
        // A lock that vanished between list and read was usually replaced by its refresh:
        // list again, a few times, rather than overlook its holder.
        for _ in 0..<5 {
            if let holders = try await readLiveLocks(mode, ours: ours) { return holders }
        }
        throw RepositoryError(.locked, "locks keep changing while being read; try again")
    }

    /// Throws on a conflicting live lock; returns nil when the listing must be read again.
    private func readLiveLocks(_ mode: LockMode, ours: ObjectName) async throws -> [LockHolder]? {
        var holders: [LockHolder] = []
        for info in try await store.list(.locks) where info.name != ours {
            let record: LockRecord
            do {
                record = try await readLock(info.name)
            } catch let error as StorageError where error.code == .notFound {
                return nil
            } catch {
                throw RepositoryError(
                    .locked,
                    "lock \(info.name.name) cannot be read; remove it if no other operation is running",
                    cause: error)
            }
            let age = Date().timeIntervalSince(record.time)
            guard age < Double(Self.lockStaleAfter.components.seconds) else { continue }
            if record.hostname == Host.name, kill(record.pid, 0) != 0, errno == ESRCH {
                // Its holder died on this host without removing it (e.g. SIGKILL).
                logger.info(
                    "removing lock of a dead process",
                    metadata: ["lock.name": "\(info.name.name)", "pid": "\(record.pid)"])
                try? await store.delete(info.name)
                continue
            }
            if mode.conflicts(with: record.mode) {
                throw RepositoryError(
                    .locked,
                    "repository is locked (\(record.mode.rawValue)) by \(record.operation) on \(record.hostname) "
                        + "pid \(record.pid) since \(Timestamp.format(record.time))")
            }
            // A lock without a holder ID (none is written so) stands for itself.
            holders.append(
                LockHolder(
                    id: record.holder ?? info.name.name, mode: record.mode,
                    operation: record.operation))
        }
        return holders
    }

    private func writeLock(
        _ mode: LockMode, operation: String, holder: String
    ) async throws -> ObjectName {
        let record = LockRecord(
            mode: mode, operation: operation, hostname: Host.name,
            pid: ProcessInfo.processInfo.processIdentifier, time: Date(), holder: holder)
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

    private func refreshLock(_ lease: LockLease, mode: LockMode, operation: String) async throws {
        while true {
            try await Task.sleep(for: Self.lockRefreshInterval)
            do {
                let fresh = try await writeLock(mode, operation: operation, holder: lease.holder)
                try? await store.delete(lease.replace(with: fresh))
                logger.debug("lock refreshed", metadata: ["lock.name": "\(fresh.name)"])
            } catch is CancellationError {
                return
            } catch {
                logger.info("lock refresh failed", metadata: ["error": "\(error)"])
            }
        }
    }
}

/// A held lock: its current object name and when it was last written.
package final class LockLease: Sendable {
    private struct State {
        var name: ObjectName
        var written: ContinuousClock.Instant
    }
    private let state: Mutex<State>
    /// The holder ID written into every lock object of this lease.
    package let holder: String

    init(name: ObjectName, holder: String) {
        state = Mutex(State(name: name, written: .now))
        self.holder = holder
    }

    var current: ObjectName { state.withLock { $0.name } }

    func replace(with fresh: ObjectName) -> ObjectName {
        state.withLock { state in
            defer { state = State(name: fresh, written: .now) }
            return state.name
        }
    }

    /// Throws unless the lock was written recently enough that nobody can take it for stale.
    package func ensureValid() throws {
        let age = state.withLock { ContinuousClock.now - $0.written }
        guard age < Repository.lockStaleAfter - Repository.lockRefreshInterval else {
            throw RepositoryError(
                .locked,
                "the repository lock could not be refreshed for \(age); stopping to stay safe")
        }
    }
}

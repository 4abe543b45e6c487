package import Foundation
import Synchronization

/// What the coordinator last learned of each tier: whether it answered and when it was last
/// synced. Shown by `status`; filled by the start-up check and by every sync.
package final class TierHealth: Sendable {
    package struct Entry: Sendable, Hashable {
        package var error: String?
        package var checkedAt: Date?
        package var lastSync: Date?
    }

    private let entries = Mutex<[String: Entry]>([:])

    package init() {}

    /// Records that `tier` answered (error nil) or failed; a sync also sets `lastSync`.
    package func record(
        _ tier: String, error: String?, synced: Bool = false, at time: Date = Date()
    ) {
        entries.withLock { entries in
            var entry = entries[tier] ?? Entry()
            entry.error = error
            entry.checkedAt = time
            if synced && error == nil { entry.lastSync = time }
            entries[tier] = entry
        }
    }

    package func entry(_ tier: String) -> Entry? { entries.withLock { $0[tier] } }
}

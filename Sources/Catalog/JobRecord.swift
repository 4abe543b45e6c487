package import Foundation

/// One job as the catalog stores it: a backup, restore, prune, check, forget or verify run
/// for one component of one agent.
///
/// A plain value: reading it takes a copy, and changing it changes nothing in the catalog.
/// Encodes to JSON with the same field names; dates use the encoder's date strategy.
package struct JobRecord: Hashable, Sendable, Codable {
    /// What the job does.
    package enum Kind: String, Hashable, Sendable, Codable, CaseIterable {
        case backup, restore, prune, check, forget, verify
        /// Copying snapshots to the other tiers and applying their retention.
        case sync
    }

    /// Why the job was started.
    package enum Trigger: String, Hashable, Sendable, Codable, CaseIterable {
        /// The component's schedule came due.
        case schedule
        /// A run missed while the coordinator or agent was down, made up for.
        case catchup
        /// A new attempt after a failed one.
        case retry
        /// An operator asked for it.
        case manual
    }

    /// Where the job is in its life: `queued` → `running` → `succeeded` or `failed`;
    /// `skipped` or `failed` straight from `queued`.
    package enum State: String, Hashable, Sendable, Codable, CaseIterable {
        case queued, running, succeeded, failed, skipped

        /// Whether the job is over; a finished job never changes again.
        package var isFinished: Bool {
            switch self {
            case .queued, .running: false
            case .succeeded, .failed, .skipped: true
            }
        }
    }

    package var id: JobID
    package var agent: String
    package var component: String
    package var kind: Kind
    package var trigger: Trigger
    package var state: State
    /// When the job was due; jobs are ordered and filtered by this date.
    package var scheduledFor: Date
    /// When it started running; nil while queued and for jobs that never ran.
    package var startedAt: Date?
    /// When it finished; nil exactly while it is queued or running.
    package var endedAt: Date?
    /// Bytes of the dump read so far (backup) or written (restore).
    package var bytesRead: Int64
    /// Bytes of new, deduplicated data the job added to the repository.
    package var bytesAdded: Int64
    /// The hex ID of the snapshot a backup made.
    package var snapshotID: String?
    /// Why the job failed or was skipped.
    package var error: String?
    /// 1 for the first try, 2 for the first retry, and so on.
    package var attempt: Int

    /// Makes a record; the catalog builds these, tests and callers may too.
    package init(
        id: JobID, agent: String, component: String, kind: Kind, trigger: Trigger,
        state: State, scheduledFor: Date, startedAt: Date? = nil, endedAt: Date? = nil,
        bytesRead: Int64 = 0, bytesAdded: Int64 = 0, snapshotID: String? = nil,
        error: String? = nil, attempt: Int = 1
    ) {
        self.id = id
        self.agent = agent
        self.component = component
        self.kind = kind
        self.trigger = trigger
        self.state = state
        self.scheduledFor = scheduledFor
        self.startedAt = startedAt
        self.endedAt = endedAt
        self.bytesRead = bytesRead
        self.bytesAdded = bytesAdded
        self.snapshotID = snapshotID
        self.error = error
        self.attempt = attempt
    }
}

package import Foundation

/// Which jobs ``Catalog/jobs(filter:)`` returns. Conditions combine with AND; the default
/// filter matches every job.
package struct JobFilter: Hashable, Sendable {
    /// Only jobs in state `failed`.
    package var onlyFailed: Bool
    /// Only jobs scheduled at or after this date.
    package var since: Date?
    /// Only jobs of this agent.
    package var agent: String?
    /// Only jobs of components with this name.
    package var component: String?
    /// At most this many jobs (the newest); nil for all. Must not be negative.
    package var limit: Int?

    /// Makes a filter; every condition is off unless given.
    package init(
        onlyFailed: Bool = false, since: Date? = nil, agent: String? = nil,
        component: String? = nil, limit: Int? = nil
    ) {
        self.onlyFailed = onlyFailed
        self.since = since
        self.agent = agent
        self.component = component
        self.limit = limit
    }
}

package import Foundation

/// An agent the coordinator has seen, as the catalog stores it.
package struct AgentRecord: Hashable, Sendable, Codable {
    package var name: String
    /// The earliest time the agent was recorded.
    package var firstSeen: Date
    /// The latest time the agent was recorded.
    package var lastSeen: Date
    /// Whether an operator revoked the agent; recording it again does not clear this.
    package var isRevoked: Bool

    package init(name: String, firstSeen: Date, lastSeen: Date, isRevoked: Bool) {
        (self.name, self.firstSeen, self.lastSeen, self.isRevoked) =
            (name, firstSeen, lastSeen, isRevoked)
    }
}

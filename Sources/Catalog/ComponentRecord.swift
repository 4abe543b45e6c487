/// A component (a service an agent backs up) as the catalog stores it.
package struct ComponentRecord: Hashable, Sendable, Codable {
    /// The agent that owns the component.
    package var agent: String
    /// The component's name, unique per agent.
    package var name: String
    /// The adapter kind, such as `postgresql` or `files`.
    package var kind: String

    package init(agent: String, name: String, kind: String) {
        (self.agent, self.name, self.kind) = (agent, name, kind)
    }
}

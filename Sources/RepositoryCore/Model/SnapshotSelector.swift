/// How a user names a snapshot: an ID, a unique ID prefix, or `latest` with filters.
package struct SnapshotSelector: Sendable, Hashable {
    package var text: String
    package var agent: String?
    package var component: String?

    package init(_ text: String, agent: String? = nil, component: String? = nil) {
        (self.text, self.agent, self.component) = (text, agent, component)
    }

    /// The one snapshot this selector names among `snapshots`.
    /// - Throws: `.snapshotNotFound`, `.ambiguousSnapshot`, `.invalidArgument`.
    package func resolve(in snapshots: [Snapshot]) throws -> Snapshot {
        let filtered = snapshots.filter {
            (agent == nil || $0.agent == agent) && (component == nil || $0.component == component)
        }
        if text == "latest" {
            guard let latest = filtered.max(by: { ($0.startTime, $0.id) < ($1.startTime, $1.id) })
            else {
                throw RepositoryError(.snapshotNotFound, "no snapshot matches\(filterDescription)")
            }
            return latest
        }
        let prefix = text.lowercased()
        guard !prefix.isEmpty, prefix.count <= 64, prefix.allSatisfy(\.isHexDigit) else {
            throw RepositoryError(
                .invalidArgument, "'\(text)' is neither a snapshot ID, an ID prefix nor 'latest'")
        }
        let matches = filtered.filter { $0.id.digest.hex.hasPrefix(prefix) }
        switch matches.count {
        case 0:
            throw RepositoryError(
                .snapshotNotFound, "no snapshot ID starts with '\(prefix)'\(filterDescription)")
        case 1: return matches[0]
        default:
            throw RepositoryError(
                .ambiguousSnapshot,
                "'\(prefix)' matches \(matches.count) snapshots; give more digits")
        }
    }

    private var filterDescription: String {
        var parts: [String] = []
        if let agent { parts.append("agent \(agent)") }
        if let component { parts.append("component \(component)") }
        return parts.isEmpty ? "" : " for " + parts.joined(separator: ", ")
    }
}

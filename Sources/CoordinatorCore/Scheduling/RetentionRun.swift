import Foundation
package import RepositoryCore

/// The retention plan of one component: which of its snapshots to keep and why.
package struct ComponentRetention: Sendable {
    package var key: ComponentKey
    package var kind: String
    package var policy: RetentionPolicy
    package var plan: RetentionPlan
}

extension PolicyConfiguration {
    /// Plans retention for every component that has snapshots, each under its own policy
    /// (snapshots are grouped by agent and component; the kind is the newest snapshot's).
    package func retention(
        for snapshots: [Snapshot], only selected: ComponentKey? = nil
    ) -> [ComponentRetention] {
        var groups: [ComponentKey: [Snapshot]] = [:]
        for snapshot in snapshots {
            let key = ComponentKey(agent: snapshot.agent, component: snapshot.component)
            if let selected, key != selected { continue }
            groups[key, default: []].append(snapshot)
        }
        return groups.keys.sorted().map { key in
            let members = groups[key]!
            let kind = members.max { $0.startTime < $1.startTime }!.kind
            let policy = policy(for: key, kind: kind).retention
            let candidates = members.map {
                RetentionCandidate(id: $0.id.description, time: $0.startTime, tags: $0.tags)
            }
            return ComponentRetention(
                key: key, kind: kind, policy: policy,
                plan: RetentionPlan.make(snapshots: candidates, policy: policy, timeZone: timeZone))
        }
    }
}

extension Repository {
    /// Forgets what the plans say to forget.
    /// - Returns: the number of snapshots forgotten.
    package func apply(_ plans: [ComponentRetention]) async throws -> Int {
        var ids: [SnapshotID] = []
        for plan in plans {
            for candidate in plan.plan.forget {
                guard let digest = Digest256(hex: candidate.id) else { continue }
                ids.append(SnapshotID(digest))
            }
        }
        guard !ids.isEmpty else { return 0 }
        try await forget(ids)
        return ids.count
    }
}

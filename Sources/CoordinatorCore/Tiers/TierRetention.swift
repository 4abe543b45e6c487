package import RepositoryCore

extension PolicyConfiguration {
    /// Plans retention on one tier: each component's own policy with the tier's extra rules
    /// added, then everything older than the tier's `maxAge` (behind the component's newest
    /// snapshot on the tier) forgotten, the newest itself always kept.
    package func retention(
        for snapshots: [Snapshot], tier: TierConfiguration
    ) -> [ComponentRetention] {
        retention(for: snapshots).map { component in
            guard tier.extra != nil || tier.maxAge != nil else { return component }
            var component = component
            let members = snapshots.filter {
                $0.agent == component.key.agent && $0.component == component.key.component
            }
            if let extra = tier.extra {
                component.policy = component.policy.merged(with: extra)
            }
            let candidates = members.map {
                RetentionCandidate(id: $0.id.description, time: $0.startTime, tags: $0.tags)
            }
            var plan = RetentionPlan.make(
                snapshots: candidates, policy: component.policy, timeZone: timeZone)
            if let maxAge = tier.maxAge, let newest = candidates.map(\.time).max() {
                let cutoff = maxAge.subtracted(from: newest, in: timeZone)
                let expired = plan.keep.filter { $0.snapshot.time < cutoff }
                plan.keep.removeAll { $0.snapshot.time < cutoff }
                plan.forget += expired.map(\.snapshot)
            }
            component.plan = plan
            return component
        }
    }
}

extension RetentionPolicy {
    /// Keeps what either policy keeps, rule by rule (the larger count or duration wins).
    func merged(with other: RetentionPolicy) -> RetentionPolicy {
        func count(_ a: RetentionCount?, _ b: RetentionCount?) -> RetentionCount? {
            switch (a, b) {
            case (nil, let x), (let x, nil): x
            case (.unlimited, _), (_, .unlimited): .unlimited
            case (.count(let x)?, .count(let y)?): .count(max(x, y))
            }
        }
        var merged = self
        merged.keepLast = count(keepLast, other.keepLast)
        merged.keepHourly = count(keepHourly, other.keepHourly)
        merged.keepDaily = count(keepDaily, other.keepDaily)
        merged.keepWeekly = count(keepWeekly, other.keepWeekly)
        merged.keepMonthly = count(keepMonthly, other.keepMonthly)
        merged.keepYearly = count(keepYearly, other.keepYearly)
        return merged
    }
}

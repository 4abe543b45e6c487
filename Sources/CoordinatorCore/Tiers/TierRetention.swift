package import RepositoryCore

/// How long a tier keeps snapshots, on top of each component's own policy (`retention:` of
/// a tier; `tiers: local: retention:` for tier 1):
///
/// | key | default | |
/// |---|---|---|
/// | `max_age` | local `30d`, minio `90d`, offsite `forever`, others `90d` | snapshots older than this, behind the component's newest snapshot on the tier, leave it |
/// | `keep-last` … `keep-yearly` | offsite `keep-monthly: unlimited` | rules kept on this tier beyond the component's own |
///
/// `max_age` is measured from the component's newest snapshot, like restic's keep-within,
/// so a component whose backups stopped keeps its last state; the newest is always kept.
package struct TierRetention: Sendable, Hashable {
    package var maxAge: RetentionDuration?
    package var extra: RetentionPolicy?

    package init(maxAge: RetentionDuration? = nil, extra: RetentionPolicy? = nil) {
        (self.maxAge, self.extra) = (maxAge, extra)
    }

    /// The seed's tiers: local under 30 days, MinIO 90 days, off-site forever (an archive
    /// keeping the newest snapshot of every month).
    package static func defaults(for tier: String) -> TierRetention {
        switch tier {
        case TierConfiguration.localName: TierRetention(maxAge: RetentionDuration(days: 30))
        case "offsite": TierRetention(extra: RetentionPolicy(keepMonthly: .unlimited))
        default: TierRetention(maxAge: RetentionDuration(days: 90))
        }
    }

    init(decoding c: ConfigContainer, tier: String) throws {
        let rules = RetentionPolicy.countKeys
        try c.rejectUnknownKeys(
            Set(["max_age"] + rules.map(\.0)), in: "retention of tier \(tier)")
        self.init()
        if let text = try c.decodeIfPresent(String.self, forKey: ConfigKey("max_age")),
            text != "forever"
        {
            do {
                maxAge = try RetentionDuration(text)
            } catch {
                throw c.problem(
                    "max_age", "'\(text)' is not a duration such as 30d or 1y2m, nor forever")
            }
        }
        var extra = RetentionPolicy()
        for (key, path) in rules where c.contains(ConfigKey(key)) {
            extra[keyPath: path] = try c.decode(RetentionCount.self, forKey: ConfigKey(key))
        }
        self.extra = extra == RetentionPolicy() ? nil : extra
    }
}

extension PolicyConfiguration {
    /// Plans retention on one tier: each component's own policy with the tier's extra rules
    /// added, then everything older than the tier's `maxAge` (behind the component's newest
    /// snapshot on the tier) forgotten, the newest itself always kept.
    package func retention(
        for snapshots: [Snapshot], tier: TierRetention, only selected: ComponentKey? = nil
    ) -> [ComponentRetention] {
        retention(for: snapshots, only: selected).map { component in
            guard tier.extra != nil || tier.maxAge != nil else { return component }
            var component = component
            if let extra = tier.extra {
                component.policy = component.policy.merged(with: extra)
            }
            let candidates = snapshots.filter {
                $0.agent == component.key.agent && $0.component == component.key.component
            }.map { RetentionCandidate(id: $0.id.description, time: $0.startTime, tags: $0.tags) }
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
    /// Keeps what either policy keeps, rule by rule (the larger count wins).
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

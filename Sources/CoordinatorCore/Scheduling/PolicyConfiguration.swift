package import Foundation
package import RepositoryCore

/// When each component is backed up and how long its snapshots are kept: the scheduling and
/// retention keys of the coordinator's YAML file. Every key, its type and default:
///
/// | key | type | default | |
/// |---|---|---|---|
/// | `time_zone` | IANA name | the system's | wall clock of schedules and retention buckets |
/// | `jobs.max_running` | int ≥ 1 | 4 | jobs running at once |
/// | `jobs.max_running_per_agent` | int ≥ 1 | 1 | jobs running at once on one agent |
/// | `kinds.<kind>` | policy | the seed's (``ComponentPolicy/seedDefaults``) | per component kind |
/// | `components.<agent/name, */name or name>` | policy | none | per component, over its kind's |
/// | `prune.schedule` | cron | `0 4 * * *` | when prune runs |
/// | `prune.repack_threshold` | percent | 20 | repack packs at least this unused |
/// | `sync.schedule` | cron | `30 4 * * *` | when every tier is synced in full |
/// | `sync.after_backup` | bool | true | copy each new snapshot to the tiers at once |
///
/// A policy has `schedule` (a cron expression or a list; times that coincide run once),
/// `time_zone`, `random_delay`, `timeout` (durations: `90s`, `5min`, `2h`, `1d`), `retries`,
/// `retention` (restic's rules: `keep-last`, `keep-hourly` … `keep-yearly` as counts or
/// `unlimited`, `keep-within`, `keep-within-hourly` … as `7d`, `2y5m` with m = months), and,
/// under `components` only, `kind` (use that kind's policy as the base).
package struct PolicyConfiguration: Sendable {
    package var timeZone: TimeZone
    package var limits: ConcurrencyLimits
    package var kinds: [String: ComponentPolicy]
    package var overrides: [String: PolicyOverride]
    package var pruneSchedule: CronExpression
    package var repackThreshold: Double
    /// When every tier is synced in full (besides after each backup).
    package var syncSchedule: CronExpression
    /// Whether each backup is copied to the other tiers as soon as it is stored.
    package var syncAfterBackup: Bool

    /// The kinds components may have (DESIGN: Components).
    package static let knownKinds: Set<String> = [
        "postgresql", "postgresql-globals", "redis", "qdrant", "minio", "n8n", "vault", "files",
        "command",
    ]

    package init(
        timeZone: TimeZone = .current, limits: ConcurrencyLimits = ConcurrencyLimits(),
        kinds: [String: ComponentPolicy] = ComponentPolicy.seedDefaults,
        overrides: [String: PolicyOverride] = [:],
        pruneSchedule: CronExpression = CronExpression(builtIn: "0 4 * * *"),
        repackThreshold: Double = 0.2,
        syncSchedule: CronExpression = CronExpression(builtIn: "30 4 * * *"),
        syncAfterBackup: Bool = true
    ) {
        (self.timeZone, self.limits, self.kinds, self.overrides) = (
            timeZone, limits, kinds, overrides
        )
        (self.pruneSchedule, self.repackThreshold) = (pruneSchedule, repackThreshold)
        (self.syncSchedule, self.syncAfterBackup) = (syncSchedule, syncAfterBackup)
    }

    /// The policy of one component: its kind's (or an override's `kind`), then the overrides
    /// from the least to the most specific (`name`, `*/name`, `agent/name`).
    package func policy(for key: ComponentKey, kind: String) -> ComponentPolicy {
        let layers = [key.component, "*/\(key.component)", key.description].compactMap {
            overrides[$0]
        }
        let base = layers.last(where: { $0.kind != nil })?.kind ?? kind
        var policy =
            kinds[base] ?? kinds["command"] ?? ComponentPolicy(schedule: [], retention: .keepAll)
        for layer in layers { layer.apply(to: &policy) }
        return policy
    }

    /// Overrides naming an agent (`agent/component`) that is not enrolled, or a component
    /// that agent did not announce: one message per override.
    package func unknownComponents(
        agents: [String: [String]]
    ) -> [(key: String, problem: String)] {
        var problems: [(String, String)] = []
        for name in overrides.keys.sorted() {
            let parts = name.split(separator: "/").map(String.init)
            guard parts.count == 2, parts[0] != "*" else { continue }
            guard let components = agents[parts[0]] else {
                problems.append((name, "agent '\(parts[0])' is not enrolled"))
                continue
            }
            // An agent that never connected has announced nothing yet: nothing to compare.
            if !components.isEmpty, !components.contains(parts[1]) {
                problems.append(
                    (
                        name,
                        "agent '\(parts[0])' has no component '\(parts[1])' (it announced: \(components.sorted().joined(separator: ", ")))"
                    ))
            }
        }
        return problems
    }

    /// The schedule of one component, or nil when it has no cron expression.
    package func schedule(for key: ComponentKey, kind: String) -> ComponentSchedule? {
        let policy = policy(for: key, kind: kind)
        guard !policy.schedule.isEmpty else { return nil }
        return ComponentSchedule(
            key: key, expressions: policy.schedule, timeZone: policy.timeZone ?? timeZone,
            randomDelay: policy.randomDelay, timeout: policy.timeout, retries: policy.retries,
            retryBackoff: policy.retryBackoff)
    }
}

/// Scheduling and retention of one kind of component.
package struct ComponentPolicy: Sendable, Hashable {
    package var schedule: [CronExpression]
    package var timeZone: TimeZone?
    package var randomDelay: Duration
    package var timeout: Duration
    package var retries: Int
    package var retryBackoff: Duration
    package var retention: RetentionPolicy

    package init(
        schedule: [CronExpression], timeZone: TimeZone? = nil,
        randomDelay: Duration = .seconds(300), timeout: Duration = .seconds(2 * 3600),
        retries: Int = 2, retryBackoff: Duration = .seconds(300), retention: RetentionPolicy
    ) {
        (self.schedule, self.timeZone, self.randomDelay) = (schedule, timeZone, randomDelay)
        (self.timeout, self.retries, self.retryBackoff) = (timeout, retries, retryBackoff)
        self.retention = retention
    }

    /// The operator's original plan (seed DEPLOYMENT_SUMMARY "Backup Coverage"): PostgreSQL
    /// hourly + daily + weekly kept 7 d / 30 d / 84 d, Redis every 6 h kept 7 d, Qdrant,
    /// MinIO and Vault daily kept 30 d, n8n daily kept 90 d, configuration files daily kept
    /// forever. The hourly, daily and weekly PostgreSQL times coincide, so they run once;
    /// retention keeps the hourly, daily and weekly snapshots.
    package static let seedDefaults: [String: ComponentPolicy] = {
        func cron(_ texts: String...) -> [CronExpression] {
            texts.map { CronExpression(builtIn: $0) }
        }
        func days(_ n: Int) -> RetentionDuration { RetentionDuration(days: n) }
        let daily30 = RetentionPolicy(keepWithinDaily: days(30))
        return [
            "postgresql": ComponentPolicy(
                schedule: cron("0 * * * *", "0 2 * * *", "0 3 * * 0"),
                retention: RetentionPolicy(
                    keepWithinHourly: days(7), keepWithinDaily: days(30),
                    keepWithinWeekly: days(84))),
            "postgresql-globals": ComponentPolicy(
                schedule: cron("0 2 * * *"), retention: daily30),
            "redis": ComponentPolicy(
                schedule: cron("15 */6 * * *"), retention: RetentionPolicy(keepWithin: days(7))),
            "qdrant": ComponentPolicy(schedule: cron("30 1 * * *"), retention: daily30),
            "minio": ComponentPolicy(schedule: cron("45 1 * * *"), retention: daily30),
            "n8n": ComponentPolicy(
                schedule: cron("0 2 * * *"), retention: RetentionPolicy(keepWithinDaily: days(90))),
            "vault": ComponentPolicy(schedule: cron("15 2 * * *"), retention: daily30),
            "files": ComponentPolicy(schedule: cron("30 1 * * *"), retention: .keepAll),
            "command": ComponentPolicy(schedule: cron("0 1 * * *"), retention: daily30),
        ]
    }()
}

/// Settings of one component that replace its kind's.
package struct PolicyOverride: Sendable, Hashable {
    package var kind: String?
    package var schedule: [CronExpression]?
    package var timeZone: TimeZone?
    package var randomDelay: Duration?
    package var timeout: Duration?
    package var retries: Int?
    package var retention: RetentionPolicy?

    package init() {}

    func apply(to policy: inout ComponentPolicy) {
        if let schedule { policy.schedule = schedule }
        if let timeZone { policy.timeZone = timeZone }
        if let randomDelay { policy.randomDelay = randomDelay }
        if let timeout { policy.timeout = timeout }
        if let retries { policy.retries = retries }
        if let retention { policy.retention = retention }
    }
}

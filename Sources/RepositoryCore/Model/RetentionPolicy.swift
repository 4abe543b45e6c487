/// Which snapshots of one group (one agent's component) to keep: restic's `forget --keep-*`
/// rules. A snapshot is kept when any rule keeps it; all others are forgotten.
///
/// Count rules walk the snapshots newest first and keep the newest snapshot of each of the
/// newest `n` buckets (hours, days, ISO weeks, months, years in the planning time zone), or the
/// newest `n` snapshots (``keepLast``). Duration rules are measured back from the newest
/// snapshot of the group, not from now: ``keepWithin`` keeps every snapshot newer than
/// `latest - duration`, and ``keepWithinDaily`` (etc.) keeps the newest snapshot of every day
/// among those. So a group whose backups stopped keeps its last state indefinitely.
///
/// A rule that is `nil` is off. JSON uses the property names, counts as numbers or
/// `"unlimited"`, durations as restic's strings:
/// `{"keepWithinHourly": "7d", "keepWithinDaily": "30d", "keepWithinWeekly": "84d"}`.
package struct RetentionPolicy: Hashable, Sendable {
    /// The newest `n` snapshots.
    package var keepLast: RetentionCount?
    /// The newest snapshot of each of the newest `n` hours that have one.
    package var keepHourly: RetentionCount?
    /// The newest snapshot of each of the newest `n` days that have one.
    package var keepDaily: RetentionCount?
    /// The newest snapshot of each of the newest `n` ISO weeks that have one.
    package var keepWeekly: RetentionCount?
    /// The newest snapshot of each of the newest `n` months that have one.
    package var keepMonthly: RetentionCount?
    /// The newest snapshot of each of the newest `n` years that have one.
    package var keepYearly: RetentionCount?
    /// Every snapshot newer than the group's newest snapshot minus this duration.
    package var keepWithin: RetentionDuration?
    /// The newest snapshot of every hour, among snapshots within this duration of the newest.
    package var keepWithinHourly: RetentionDuration?
    /// The newest snapshot of every day, among snapshots within this duration of the newest.
    package var keepWithinDaily: RetentionDuration?
    /// The newest snapshot of every ISO week, among snapshots within this duration of the newest.
    package var keepWithinWeekly: RetentionDuration?
    /// The newest snapshot of every month, among snapshots within this duration of the newest.
    package var keepWithinMonthly: RetentionDuration?
    /// The newest snapshot of every year, among snapshots within this duration of the newest.
    package var keepWithinYearly: RetentionDuration?

    package init(
        keepLast: RetentionCount? = nil, keepHourly: RetentionCount? = nil,
        keepDaily: RetentionCount? = nil, keepWeekly: RetentionCount? = nil,
        keepMonthly: RetentionCount? = nil, keepYearly: RetentionCount? = nil,
        keepWithin: RetentionDuration? = nil, keepWithinHourly: RetentionDuration? = nil,
        keepWithinDaily: RetentionDuration? = nil, keepWithinWeekly: RetentionDuration? = nil,
        keepWithinMonthly: RetentionDuration? = nil, keepWithinYearly: RetentionDuration? = nil
    ) {
        self.keepLast = keepLast
        self.keepHourly = keepHourly
        self.keepDaily = keepDaily
        self.keepWeekly = keepWeekly
        self.keepMonthly = keepMonthly
        self.keepYearly = keepYearly
        self.keepWithin = keepWithin
        self.keepWithinHourly = keepWithinHourly
        self.keepWithinDaily = keepWithinDaily
        self.keepWithinWeekly = keepWithinWeekly
        self.keepWithinMonthly = keepWithinMonthly
        self.keepWithinYearly = keepWithinYearly
    }

    /// Keep forever: every snapshot is kept (`keepLast: .unlimited`).
    package static let keepAll = RetentionPolicy(keepLast: .unlimited)

    /// Whether the policy keeps every snapshot whatever their times: ``keepLast`` is unlimited.
    /// (An unlimited bucket rule such as `keepDaily` still forgets all but one per day.)
    package var isKeepAll: Bool { keepLast == .unlimited }

    /// The count rules in restic's evaluation order, with their names.
    var countRules: [(name: String, count: RetentionCount?, bucket: RetentionBucket?)] {
        [
            ("keepLast", keepLast, nil), ("keepHourly", keepHourly, .hourly),
            ("keepDaily", keepDaily, .daily), ("keepWeekly", keepWeekly, .weekly),
            ("keepMonthly", keepMonthly, .monthly), ("keepYearly", keepYearly, .yearly),
        ]
    }

    /// The within-bucket rules in restic's evaluation order, with their names.
    var withinBucketRules: [(name: String, duration: RetentionDuration?, bucket: RetentionBucket)] {
        [
            ("keepWithinHourly", keepWithinHourly, .hourly),
            ("keepWithinDaily", keepWithinDaily, .daily),
            ("keepWithinWeekly", keepWithinWeekly, .weekly),
            ("keepWithinMonthly", keepWithinMonthly, .monthly),
            ("keepWithinYearly", keepWithinYearly, .yearly),
        ]
    }

    /// Whether no rule is in force, in restic's sense (`ExpirePolicy.Empty`): every count is off
    /// or 0 and every duration off or zero. Planning such a policy keeps everything.
    var isEmpty: Bool {
        countRules.allSatisfy { $0.count == nil || $0.count == .count(0) }
            && ([keepWithin] + withinBucketRules.map(\.duration)).allSatisfy {
                $0 == nil || $0?.isZero == true
            }
    }

    /// Checks that the policy means what it says, reporting every problem at once.
    ///
    /// Rejects a policy with no rule at all (restic then removes nothing, "no policy was
    /// specified", but a caller reading "no rule" as "keep nothing" would forget everything),
    /// any count below 1 (restic 0.14 ignores 0, and -1 makes that rule keep nothing), and any
    /// duration that is zero or has a negative component (restic ignores a zero duration; a
    /// negative one keeps nothing).
    /// - Throws: ``RepositoryError/Code/invalidArgument`` whose message names each offending rule.
    package func validate() throws {
        var problems: [String] = []
        for rule in countRules {
            if case .count(let n) = rule.count, n < 1 {
                problems.append("\(rule.name) must be at least 1 or unlimited, not \(n)")
            }
        }
        let durations =
            [("keepWithin", keepWithin)] + withinBucketRules.map { ($0.name, $0.duration) }
        for (name, duration) in durations {
            guard let duration else { continue }
            if [duration.years, duration.months, duration.days, duration.hours].contains(where: {
                $0 < 0
            }) {
                problems.append("\(name) must not be negative, not \(duration)")
            } else if duration.isZero {
                problems.append("\(name) must be longer than zero")
            }
        }
        if countRules.allSatisfy({ $0.count == nil }) && durations.allSatisfy({ $0.1 == nil }) {
            problems.append(
                "the policy has no rule; set at least one keep rule, or keepLast: unlimited to keep everything"
            )
        }
        guard problems.isEmpty else {
            throw RepositoryError(.invalidArgument, problems.joined(separator: "; "))
        }
    }
}

extension RetentionPolicy: CustomStringConvertible {
    /// The rules that are set, e.g. `keepLast 3, keepWithinDaily 30d`, or `no rule`.
    package var description: String {
        let counts = countRules.compactMap { rule in rule.count.map { "\(rule.name) \($0)" } }
        let durations =
            ([("keepWithin", keepWithin)] + withinBucketRules.map { ($0.name, $0.duration) })
            .compactMap { name, duration in duration.map { "\(name) \($0)" } }
        let rules = counts + durations
        return rules.isEmpty ? "no rule" : rules.joined(separator: ", ")
    }
}

extension RetentionPolicy: Codable {
    private enum CodingKeys: String, CodingKey, CaseIterable {
        case keepLast, keepHourly, keepDaily, keepWeekly, keepMonthly, keepYearly
        case keepWithin, keepWithinHourly, keepWithinDaily, keepWithinWeekly, keepWithinMonthly
        case keepWithinYearly
    }

    private struct AnyKey: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }

    /// Decodes the rules; an unknown key is an error, since a misspelt rule (`keepDayly`) would
    /// otherwise be dropped silently and the policy would forget what it was meant to keep.
    package init(from decoder: any Decoder) throws {
        let unknown = try decoder.container(keyedBy: AnyKey.self).allKeys.map(\.stringValue)
            .filter { CodingKeys(stringValue: $0) == nil }
        if !unknown.isEmpty {
            throw DecodingError.dataCorrupted(
                DecodingError.Context(
                    codingPath: decoder.codingPath,
                    debugDescription: "unknown retention rule(s) \(unknown.sorted()); known: "
                        + CodingKeys.allCases.map(\.stringValue).joined(separator: ", ")))
        }
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init(
            keepLast: try c.decodeIfPresent(RetentionCount.self, forKey: .keepLast),
            keepHourly: try c.decodeIfPresent(RetentionCount.self, forKey: .keepHourly),
            keepDaily: try c.decodeIfPresent(RetentionCount.self, forKey: .keepDaily),
            keepWeekly: try c.decodeIfPresent(RetentionCount.self, forKey: .keepWeekly),
            keepMonthly: try c.decodeIfPresent(RetentionCount.self, forKey: .keepMonthly),
            keepYearly: try c.decodeIfPresent(RetentionCount.self, forKey: .keepYearly),
            keepWithin: try c.decodeIfPresent(RetentionDuration.self, forKey: .keepWithin),
            keepWithinHourly: try c.decodeIfPresent(
                RetentionDuration.self, forKey: .keepWithinHourly),
            keepWithinDaily: try c.decodeIfPresent(
                RetentionDuration.self, forKey: .keepWithinDaily),
            keepWithinWeekly: try c.decodeIfPresent(
                RetentionDuration.self, forKey: .keepWithinWeekly),
            keepWithinMonthly: try c.decodeIfPresent(
                RetentionDuration.self, forKey: .keepWithinMonthly),
            keepWithinYearly: try c.decodeIfPresent(
                RetentionDuration.self, forKey: .keepWithinYearly)
        )
    }

    package func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encodeIfPresent(keepLast, forKey: .keepLast)
        try c.encodeIfPresent(keepHourly, forKey: .keepHourly)
        try c.encodeIfPresent(keepDaily, forKey: .keepDaily)
        try c.encodeIfPresent(keepWeekly, forKey: .keepWeekly)
        try c.encodeIfPresent(keepMonthly, forKey: .keepMonthly)
        try c.encodeIfPresent(keepYearly, forKey: .keepYearly)
        try c.encodeIfPresent(keepWithin, forKey: .keepWithin)
        try c.encodeIfPresent(keepWithinHourly, forKey: .keepWithinHourly)
        try c.encodeIfPresent(keepWithinDaily, forKey: .keepWithinDaily)
        try c.encodeIfPresent(keepWithinWeekly, forKey: .keepWithinWeekly)
        try c.encodeIfPresent(keepWithinMonthly, forKey: .keepWithinMonthly)
        try c.encodeIfPresent(keepWithinYearly, forKey: .keepWithinYearly)
    }
}

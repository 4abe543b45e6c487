import Foundation
import RepositoryCore

/// Any mapping key, so unknown keys can be reported where they are.
struct ConfigKey: CodingKey, Hashable {
    var stringValue: String
    var intValue: Int? { nil }
    init(_ string: String) { stringValue = string }
    init?(stringValue: String) { self.stringValue = stringValue }
    init?(intValue: Int) { nil }
}

typealias ConfigContainer = KeyedDecodingContainer<ConfigKey>

extension ConfigContainer {
    /// Fails on the first key not in `known`, at that key (so its line is reported).
    func rejectUnknownKeys(_ known: Set<String>, in what: String) throws {
        for key in allKeys.sorted(by: { $0.stringValue < $1.stringValue })
        where !known.contains(key.stringValue) {
            throw DecodingError.dataCorruptedError(
                forKey: key, in: self,
                debugDescription:
                    "unknown setting '\(key.stringValue)' in \(what); known: \(known.sorted().joined(separator: ", "))"
            )
        }
    }

    func problem(_ key: String, _ message: String) -> DecodingError {
        DecodingError.dataCorruptedError(
            forKey: ConfigKey(key), in: self, debugDescription: message)
    }

    func cron(_ key: String) throws -> [CronExpression]? {
        guard contains(ConfigKey(key)) else { return nil }
        let texts: [String]
        if let single = try? decode(String.self, forKey: ConfigKey(key)) {
            texts = [single]
        } else {
            texts = try decode([String].self, forKey: ConfigKey(key))
        }
        return try texts.map { text in
            do {
                return try CronExpression(text)
            } catch let error as CronError {
                throw problem(key, "invalid cron expression '\(text)': \(error.message)")
            }
        }
    }

    func duration(_ key: String) throws -> Duration? {
        guard contains(ConfigKey(key)) else { return nil }
        let text = try decode(String.self, forKey: ConfigKey(key))
        guard let duration = JobDurationText.parse(text) else {
            throw problem(
                key,
                "'\(text)' is not a duration; write a number and a unit: 90s, 5min, 2h or 1d")
        }
        return duration
    }

    func timeZone(_ key: String) throws -> TimeZone? {
        guard contains(ConfigKey(key)) else { return nil }
        let name = try decode(String.self, forKey: ConfigKey(key))
        guard let zone = TimeZone(identifier: name) else {
            throw problem(
                key, "unknown time zone '\(name)'; use an IANA name such as Europe/Amsterdam")
        }
        return zone
    }

    func positiveInt(_ key: String, minimum: Int = 1) throws -> Int? {
        guard contains(ConfigKey(key)) else { return nil }
        let value = try decode(Int.self, forKey: ConfigKey(key))
        guard value >= minimum else {
            throw problem(key, "must be at least \(minimum), not \(value)")
        }
        return value
    }
}

/// Durations of jobs: `90s`, `5min`, `2h`, `1d` (no `m`: in retention rules it means months).
package enum JobDurationText {
    package static func parse(_ text: String) -> Duration? {
        let units: [(String, Int64)] = [("min", 60), ("s", 1), ("h", 3600), ("d", 86_400)]
        for (unit, seconds) in units where text.hasSuffix(unit) {
            guard let value = Int64(text.dropLast(unit.count)), value >= 0 else { return nil }
            return .seconds(value * seconds)
        }
        return nil
    }
}

extension PolicyConfiguration {
    /// The policy keys of the coordinator's top-level mapping; other keys are left alone.
    static let topLevelKeys = ["time_zone", "jobs", "kinds", "components", "prune", "sync"]

    /// Decodes the policy keys; every problem names its setting (and so its line).
    init(decoding decoder: any Decoder) throws {
        let top = try decoder.container(keyedBy: ConfigKey.self)
        self.init(timeZone: try top.timeZone("time_zone") ?? .current)
        if top.contains(ConfigKey("jobs")) {
            let jobs = try top.nestedContainer(keyedBy: ConfigKey.self, forKey: ConfigKey("jobs"))
            try jobs.rejectUnknownKeys(["max_running", "max_running_per_agent"], in: "jobs")
            limits.global = try jobs.positiveInt("max_running") ?? limits.global
            limits.perAgent = try jobs.positiveInt("max_running_per_agent") ?? limits.perAgent
        }
        if top.contains(ConfigKey("kinds")) {
            let section = try top.nestedContainer(
                keyedBy: ConfigKey.self, forKey: ConfigKey("kinds"))
            for key in section.allKeys {
                guard Self.knownKinds.contains(key.stringValue) else {
                    throw section.problem(
                        key.stringValue,
                        "unknown component kind '\(key.stringValue)'; known: \(Self.knownKinds.sorted().joined(separator: ", "))"
                    )
                }
                let policy = try section.nestedContainer(keyedBy: ConfigKey.self, forKey: key)
                let override = try PolicyOverride(policy, allowKind: false)
                var base = kinds[key.stringValue]!
                override.apply(to: &base)
                kinds[key.stringValue] = base
            }
        }
        if top.contains(ConfigKey("components")) {
            let section = try top.nestedContainer(
                keyedBy: ConfigKey.self, forKey: ConfigKey("components"))
            for key in section.allKeys {
                let name = key.stringValue
                let parts = name.split(separator: "/", omittingEmptySubsequences: false)
                guard (1...2).contains(parts.count), parts.allSatisfy({ !$0.isEmpty }) else {
                    throw section.problem(
                        name, "'\(name)' must be a component name, agent/component or */component")
                }
                let policy = try section.nestedContainer(keyedBy: ConfigKey.self, forKey: key)
                overrides[name] = try PolicyOverride(policy, allowKind: true)
            }
        }
        if top.contains(ConfigKey("prune")) {
            let prune = try top.nestedContainer(keyedBy: ConfigKey.self, forKey: ConfigKey("prune"))
            try prune.rejectUnknownKeys(["schedule", "repack_threshold"], in: "prune")
            if let schedule = try prune.cron("schedule") {
                guard schedule.count == 1 else {
                    throw prune.problem("schedule", "prune takes one cron expression")
                }
                pruneSchedule = schedule[0]
            }
            if prune.contains(ConfigKey("repack_threshold")) {
                let percent = try prune.decode(Double.self, forKey: ConfigKey("repack_threshold"))
                guard (0...100).contains(percent) else {
                    throw prune.problem("repack_threshold", "must be 0-100, not \(percent)")
                }
                repackThreshold = percent / 100
            }
        }
        if top.contains(ConfigKey("sync")) {
            let sync = try top.nestedContainer(keyedBy: ConfigKey.self, forKey: ConfigKey("sync"))
            try sync.rejectUnknownKeys(["schedule", "after_backup"], in: "sync")
            if let schedule = try sync.cron("schedule") {
                guard schedule.count == 1 else {
                    throw sync.problem("schedule", "sync takes one cron expression")
                }
                syncSchedule = schedule[0]
            }
            syncAfterBackup =
                try sync.decodeIfPresent(Bool.self, forKey: ConfigKey("after_backup")) ?? true
        }
    }
}

extension PolicyOverride {
    init(_ c: ConfigContainer, allowKind: Bool) throws {
        var known: Set<String> = [
            "schedule", "time_zone", "random_delay", "timeout", "retries", "retention",
        ]
        if allowKind { known.insert("kind") }
        try c.rejectUnknownKeys(known, in: "a component policy")
        self.init()
        if allowKind, c.contains(ConfigKey("kind")) {
            let kind = try c.decode(String.self, forKey: ConfigKey("kind"))
            guard PolicyConfiguration.knownKinds.contains(kind) else {
                throw c.problem("kind", "unknown component kind '\(kind)'")
            }
            self.kind = kind
        }
        schedule = try c.cron("schedule")
        timeZone = try c.timeZone("time_zone")
        randomDelay = try c.duration("random_delay")
        timeout = try c.duration("timeout")
        if timeout == .zero { throw c.problem("timeout", "must be longer than zero") }
        retries = try c.positiveInt("retries", minimum: 0)
        if c.contains(ConfigKey("retention")) {
            retention = try RetentionPolicy(
                decoding: try c.nestedContainer(
                    keyedBy: ConfigKey.self, forKey: ConfigKey("retention")))
        }
    }
}

extension RetentionPolicy {
    static var countKeys: [(String, WritableKeyPath<RetentionPolicy, RetentionCount?>)] {
        [
            ("keep-last", \.keepLast), ("keep-hourly", \.keepHourly), ("keep-daily", \.keepDaily),
            ("keep-weekly", \.keepWeekly), ("keep-monthly", \.keepMonthly),
            ("keep-yearly", \.keepYearly),
        ]
    }
    static var durationKeys: [(String, WritableKeyPath<RetentionPolicy, RetentionDuration?>)] {
        [
            ("keep-within", \.keepWithin), ("keep-within-hourly", \.keepWithinHourly),
            ("keep-within-daily", \.keepWithinDaily), ("keep-within-weekly", \.keepWithinWeekly),
            ("keep-within-monthly", \.keepWithinMonthly),
            ("keep-within-yearly", \.keepWithinYearly),
        ]
    }

    /// restic's rule names; refuses negative, zero, empty and contradictory policies.
    init(decoding c: ConfigContainer) throws {
        try c.rejectUnknownKeys(
            Set(Self.countKeys.map(\.0) + Self.durationKeys.map(\.0)), in: "retention")
        self.init()
        for (key, path) in Self.countKeys where c.contains(ConfigKey(key)) {
            if let n = try? c.decode(Int.self, forKey: ConfigKey(key)) {
                guard n >= 1 else {
                    throw c.problem(key, "\(key) must be at least 1 (or unlimited), not \(n)")
                }
                self[keyPath: path] = .count(n)
            } else if (try? c.decode(String.self, forKey: ConfigKey(key))) == "unlimited" {
                self[keyPath: path] = .unlimited
            } else {
                throw c.problem(key, "\(key) must be a count of at least 1 or 'unlimited'")
            }
        }
        for (key, path) in Self.durationKeys where c.contains(ConfigKey(key)) {
            let text = try c.decode(String.self, forKey: ConfigKey(key))
            do {
                let duration = try RetentionDuration(text)
                guard !duration.isZero else {
                    throw c.problem(key, "\(key) must be longer than zero")
                }
                self[keyPath: path] = duration
            } catch let error as RepositoryError {
                throw c.problem(key, "\(key): \(error.message)")
            }
        }
        if keepLast == .unlimited {
            let others =
                Self.countKeys.dropFirst().filter { self[keyPath: $0.1] != nil }.map(\.0)
                + Self.durationKeys.filter { self[keyPath: $0.1] != nil }.map(\.0)
            if let first = others.first {
                throw c.problem(
                    first,
                    "keep-last: unlimited keeps every snapshot, so \(others.joined(separator: ", ")) would never apply; remove one or the other"
                )
            }
        }
        do {
            try validate()
        } catch let error as RepositoryError {
            throw DecodingError.dataCorrupted(
                DecodingError.Context(codingPath: c.codingPath, debugDescription: error.message))
        }
    }
}

import CoordinatorCore
import Foundation
import RepositoryCore
import TestSupport
import Testing

@Suite("Schedules and retention in the coordinator's configuration")
struct PolicyConfigurationTests {
    static let header = """
        state_dir: /var/lib/zentoria-coordinator
        password_file: /etc/zentoria/repository-password

        """

    /// Loads `body` (after a fixed two-line header) from a real file.
    static func load(_ body: String) async throws -> CoordinatorConfiguration {
        try await withTemporaryDirectory { directory in
            let path = "\(directory)/coordinator.yaml"
            try (header + body).write(toFile: path, atomically: true, encoding: .utf8)
            return try CoordinatorConfiguration.load(path: path)
        }
    }

    /// The error message of loading `body`.
    static func failure(_ body: String) async throws -> String {
        do {
            _ = try await load(body)
        } catch {
            return "\(error)"
        }
        Issue.record("the configuration was accepted")
        return ""
    }

    @Test("the example configuration in deploy/ loads and reproduces the seed")
    func deployExample() throws {
        let path = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("../../deploy/coordinator.yaml").standardized.path
        let config = try CoordinatorConfiguration.load(path: path)
        #expect(config.tiers.map(\.name) == ["minio", "offsite"])
        #expect(config.packSizeMiB == 32)
        #expect(config.localRetention == TierRetention(maxAge: RetentionDuration(days: 30)))
        #expect(config.tiers[0].retention == TierRetention(maxAge: RetentionDuration(days: 90)))
        #expect(
            config.tiers[1].retention
                == TierRetention(extra: RetentionPolicy(keepMonthly: .unlimited)))
        #expect(config.policies.syncAfterBackup)
        let policies = config.policies
        #expect(policies.timeZone.identifier == "Europe/Amsterdam")
        let postgres = policies.policy(
            for: ComponentKey(agent: "db", component: "postgresql-zentoria"), kind: "postgresql")
        #expect(postgres.schedule.count == 3)
        #expect(postgres.retention.keepWithinHourly == RetentionDuration(days: 7))
        #expect(postgres.retention.keepWithinDaily == RetentionDuration(days: 30))
        #expect(postgres.retention.keepWithinWeekly == RetentionDuration(days: 84))
        // Redis is dumped by a `command` component named redis: its override picks the kind.
        let redis = policies.policy(
            for: ComponentKey(agent: "cache", component: "redis"), kind: "command")
        #expect(redis.schedule == [try CronExpression("15 */6 * * *")])
        #expect(redis.retention == RetentionPolicy(keepWithin: RetentionDuration(days: 7)))
        for (name, days) in [("qdrant", 30), ("minio", 30), ("n8n", 90), ("vault", 30)] {
            let policy = policies.policy(
                for: ComponentKey(agent: "a", component: name), kind: "command")
            #expect(
                policy.retention == RetentionPolicy(keepWithinDaily: RetentionDuration(days: days)))
            #expect(policy.schedule.count == 1, "\(name) daily")
        }
        let configs = policies.policy(
            for: ComponentKey(agent: "a", component: "configs"), kind: "files")
        #expect(configs.retention.isKeepAll, "configs are kept forever")
    }

    @Test("without policy keys, the seed's defaults apply")
    func defaults() async throws {
        let config = try await Self.load("")
        #expect(config.policies.kinds == ComponentPolicy.seedDefaults)
        #expect(config.policies.limits == ConcurrencyLimits(global: 4, perAgent: 1))
        #expect(config.catalog == "/var/lib/zentoria-coordinator/catalog.db")
    }

    @Test("overrides apply from name to */name to agent/name, the most specific last")
    func overrides() async throws {
        let config = try await Self.load(
            """
            time_zone: UTC
            components:
              db/main:
                retries: 5
              "*/main":
                retries: 4
                timeout: 3h
              main:
                kind: redis
                random_delay: 90s
            """)
        let exact = config.policies.policy(
            for: ComponentKey(agent: "db", component: "main"), kind: "postgresql")
        #expect(exact.retries == 5 && exact.timeout == .seconds(3 * 3600))
        #expect(exact.randomDelay == .seconds(90), "from the name-only entry")
        let other = config.policies.policy(
            for: ComponentKey(agent: "x", component: "main"), kind: "postgresql")
        #expect(other.retries == 4 && other.timeout == .seconds(3 * 3600))
        let schedule = try #require(
            config.policies.schedule(
                for: ComponentKey(agent: "y", component: "main"), kind: "postgresql"))
        #expect(schedule.randomDelay == .seconds(90))
        #expect(schedule.expressions == [try CronExpression("15 */6 * * *")], "kind: redis")
        #expect(schedule.timeZone.secondsFromGMT() == 0)
    }

    @Test(
        "bad settings are refused with the file, the line and the reason",
        arguments: [
            (
                "kinds:\n  postgresql:\n    schedule: \"61 * * * *\"\n", 5,
                "minute field: 61 is out of range 0-59"
            ),
            (
                "kinds:\n  postgres:\n    schedule: \"@daily\"\n", 4,
                "unknown component kind 'postgres'"
            ),
            (
                "components:\n  db/main:\n    retention:\n      keep-daily: -3\n", 6,
                "keep-daily must be at least 1"
            ),
            (
                "components:\n  main:\n    retention:\n      keep-last: unlimited\n      keep-daily: 7\n",
                7, "keep-last: unlimited keeps every snapshot"
            ),
            (
                "components:\n  main:\n    retention:\n      keep-within: 0d\n", 6,
                "keep-within must be longer than zero"
            ),
            ("components:\n  main:\n    retention: {}\n", 5, "the policy has no rule"),
            (
                "components:\n  main:\n    retention:\n      keep-dayly: 3\n", 6,
                "unknown setting 'keep-dayly'"
            ),
            ("time_zone: Mars/Olympus\n", 3, "unknown time zone 'Mars/Olympus'"),
            ("components:\n  main:\n    timeout: 5m\n", 5, "'5m' is not a duration"),
            ("jobs:\n  max_running: 0\n", 4, "must be at least 1"),
            ("prune:\n  schedule: \"* * *\"\n", 4, "expected 5 fields, found 3"),
            ("components:\n  a/b/c:\n    retries: 1\n", 4, "must be a component name"),
            ("kinds:\n  redis:\n    scedule: \"@daily\"\n", 5, "unknown setting 'scedule'"),
        ])
    func refused(body: String, line: Int, reason: String) async throws {
        let message = try await Self.failure(body)
        #expect(message.contains("coordinator.yaml:\(line):"), "\(message)")
        #expect(message.contains(reason), "\(message)")
    }
}

import CoordinatorCore
import Foundation
import RepositoryCore
import Testing

/// A month of the seed's schedules on a simulated clock: no sleeping, no real time.
@Suite("Scheduler: a simulated month")
struct ScheduleSimulationTests {
    static let amsterdam = TimeZone(identifier: "Europe/Amsterdam")!
    static let newYork = TimeZone(identifier: "America/New_York")!
    /// 2026-10-10T00:00:00Z to 2026-11-10T00:00:00Z: Amsterdam falls back on Oct 25, New York
    /// on Nov 1.
    static let start = Date(timeIntervalSince1970: 1_791_590_400)
    static let end = Date(timeIntervalSince1970: 1_794_268_800)

    static func key(_ agent: String, _ component: String) -> ComponentKey {
        ComponentKey(agent: agent, component: component)
    }

    static func schedule(
        _ key: ComponentKey, _ cron: [String], zone: TimeZone = amsterdam,
        delay: Duration = .seconds(300)
    ) throws -> ComponentSchedule {
        ComponentSchedule(
            key: key, expressions: try cron.map { try CronExpression($0) }, timeZone: zone,
            randomDelay: delay, timeout: .seconds(3600), retries: 2, retryBackoff: .seconds(600))
    }

    /// The seed's schedules (deploy/coordinator.yaml).
    static func seedSchedules() throws -> [ComponentSchedule] {
        [
            try schedule(key("db", "zentoria"), ["0 * * * *", "0 2 * * *", "0 3 * * 0"]),
            try schedule(key("cache", "redis"), ["15 */6 * * *"]),
            try schedule(key("vectors", "qdrant"), ["30 1 * * *"]),
            try schedule(key("objects", "minio"), ["45 1 * * *"]),
            try schedule(key("flows", "n8n"), ["0 2 * * *"]),
            try schedule(key("secrets", "vault"), ["15 2 * * *"]),
            try schedule(key("configs", "files"), ["30 1 * * *"], zone: newYork),
        ]
    }

    /// Runs the book from `from` to `to`; jobs take `duration` and end as `outcome` says.
    struct Simulation {
        var book: ScheduleBook
        var queued: [ScheduleBook.Job] = []
        var started: [(job: ScheduleBook.Job, at: Date)] = []
        var succeeded: [(job: ScheduleBook.Job, at: Date)] = []
        var skipped: [(key: ComponentKey, scheduledFor: Date, reason: String)] = []
        var failed: [(job: ScheduleBook.Job, reason: String)] = []
        var running: [(job: ScheduleBook.Job, endsAt: Date, succeeds: Bool)] = []
        var maxRunning = 0
        var duration: (ScheduleBook.Job) -> TimeInterval = { _ in 120 }
        var outcome: (ScheduleBook.Job) -> Bool = { _ in true }
        var isConnected: (String, Date) -> Bool = { _, _ in true }

        mutating func record(_ actions: [ScheduleBook.Action], at now: Date) {
            for action in actions {
                switch action {
                case .queue(let job): queued.append(job)
                case .start(let job):
                    started.append((job, now))
                    running.append((job, now + duration(job), outcome(job)))
                    maxRunning = max(maxRunning, running.count)
                case .skip(let key, let at, let reason): skipped.append((key, at, reason))
                case .fail(let job, let reason): failed.append((job, reason))
                case .cancel(let job, let reason):
                    failed.append((job, reason))
                    running.removeAll { $0.job.id == job.id }
                }
            }
        }

        mutating func run(from: Date, to: Date) {
            var now = from
            while now < to {
                for item in running.sorted(by: { $0.endsAt < $1.endsAt }) where item.endsAt <= now {
                    running.removeAll { $0.job.id == item.job.id }
                    if item.succeeds { succeeded.append((item.job, item.endsAt)) }
                    if !item.succeeds { failed.append((item.job, "the backup failed")) }
                    record(book.finish(item.job.id, succeeded: item.succeeds, at: now), at: now)
                }
                let time = now
                record(book.advance(to: now, isConnected: { isConnected($0, time) }), at: now)
                let next = ([book.nextWakeUp(after: now)] + running.map(\.endsAt)).compactMap { $0 }
                    .filter { $0 > now }.min()
                // Agents reconnect on the hour in these runs: wake then too.
                let hour = Date(
                    timeIntervalSince1970: (now.timeIntervalSince1970 / 3600 + 1).rounded(.down)
                        * 3600)
                now = min(next ?? to, hour, to)
            }
        }
    }

    static func simulation(
        limits: ConcurrencyLimits = .init(global: 2, perAgent: 1)
    ) throws
        -> Simulation
    {
        var book = ScheduleBook(limits: limits)
        for schedule in try seedSchedules() {
            #expect(book.add(schedule, now: start, lastScheduled: nil).isEmpty)
        }
        return Simulation(book: book)
    }

    /// Fire times computed independently of the cron code: per local day, the given times of
    /// day through Foundation's calendar (the first of a repeated wall time).
    static func expectedDaily(
        hours: [Int], minute: Int, zone: TimeZone, from: Date, to: Date
    ) -> [Date] {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = zone
        var result: [Date] = []
        var day = calendar.startOfDay(for: from)
        while day < to {
            for hour in hours {
                if let time = calendar.date(
                    bySettingHour: hour, minute: minute, second: 0, of: day,
                    matchingPolicy: .nextTime, repeatedTimePolicy: .first, direction: .forward),
                    time > from, time < to
                {
                    result.append(time)
                }
            }
            day = calendar.date(byAdding: .day, value: 1, to: day)!
        }
        return result.sorted()
    }

    @Test("every schedule fires when it should, across both DST changes, staggered within bound")
    func firesOnTime() throws {
        var simulation = try Self.simulation()
        simulation.run(from: Self.start, to: Self.end)
        func fires(_ key: ComponentKey) -> [Date] {
            (simulation.queued.filter { $0.key == key }.map(\.scheduledFor)
                + simulation.skipped.filter { $0.key == key }.map(\.scheduledFor)).sorted()
        }
        // Hourly on the hour: Amsterdam's offsets are whole hours, so every UTC hour, and the
        // repeated hour of Oct 25 twice (each is a real hour).
        let hourly = stride(
            from: Self.start.timeIntervalSince1970 + 3600, to: Self.end.timeIntervalSince1970,
            by: 3600
        ).map { Date(timeIntervalSince1970: $0) }
        let database = fires(Self.key("db", "zentoria"))
        #expect(
            database == hourly,
            "extra: \(Set(database).subtracting(hourly).sorted()), missing: \(Set(hourly).subtracting(database).sorted()), repeated: \(database.count - Set(database).count)"
        )
        #expect(hourly.count == 31 * 24 - 1, "a month of hours, the last one excluded")
        #expect(
            fires(Self.key("cache", "redis"))
                == Self.expectedDaily(
                    hours: [0, 6, 12, 18], minute: 15, zone: Self.amsterdam, from: Self.start,
                    to: Self.end))
        for (key, hour, minute) in [
            (Self.key("vectors", "qdrant"), 1, 30), (Self.key("objects", "minio"), 1, 45),
            (Self.key("flows", "n8n"), 2, 0), (Self.key("secrets", "vault"), 2, 15),
        ] {
            let expected = Self.expectedDaily(
                hours: [hour], minute: minute, zone: Self.amsterdam, from: Self.start, to: Self.end)
            #expect(fires(key) == expected, "\(key)")
            #expect(expected.count >= 30, "a fire time on each local day")
        }
        // New York's 01:30 on Nov 1 happens twice: a fixed-hour job runs once.
        let configs = fires(Self.key("configs", "files"))
        #expect(
            configs
                == Self.expectedDaily(
                    hours: [1], minute: 30, zone: Self.newYork, from: Self.start, to: Self.end))
        #expect(configs.contains(Date(timeIntervalSince1970: 1_793_511_000)), "Nov 1 05:30Z (EDT)")
        #expect(!configs.contains(Date(timeIntervalSince1970: 1_793_514_600)), "not 06:30Z (EST)")

        // Staggering: each start lies within the random delay of its fire time.
        for job in simulation.queued {
            let delay = job.startAt.timeIntervalSince(job.scheduledFor)
            #expect(delay >= 0 && delay < 300, "\(job.key) delayed \(delay) s")
        }
        let delays = Set(
            simulation.queued.map { Int($0.startAt.timeIntervalSince($0.scheduledFor)) })
        #expect(delays.count > 50, "delays are spread, not constant")
        for (job, at) in simulation.started { #expect(at >= job.startAt) }
        #expect(simulation.maxRunning <= 2, "global limit")
        #expect(simulation.failed.isEmpty && simulation.skipped.isEmpty)
        #expect(simulation.succeeded.count == simulation.queued.count)
    }

    @Test("a run that finds the previous one going is skipped; failures retry with backoff")
    func skipsAndRetries() throws {
        var simulation = try Self.simulation()
        let redis = Self.key("cache", "redis")
        let firstRedis = Date(timeIntervalSince1970: 1_791_605_700)  // Oct 10 06:15 CEST
        simulation.duration = { job in
            job.key == redis && job.scheduledFor == firstRedis ? 7 * 3600 : 120
        }
        simulation.outcome = { job in !(job.key.component == "minio" && job.attempt < 3) }
        // The long Redis job passes its one-hour deadline and is cancelled.
        simulation.run(from: Self.start, to: Self.start + 3 * 86_400)
        #expect(
            simulation.failed.contains { $0.job.key == redis && $0.reason.hasPrefix("timed out") })
        let minio = simulation.queued.filter { $0.key.component == "minio" }
        let firstDay = minio.prefix(3)
        #expect(firstDay.map(\.attempt) == [1, 2, 3], "two retries")
        #expect(firstDay.map(\.trigger) == [.schedule, .retry, .retry])
        let gaps = zip(firstDay.dropFirst(), firstDay).map {
            $0.scheduledFor.timeIntervalSince($1.scheduledFor)
        }
        #expect(gaps[1] > gaps[0], "backoff doubles")

        // With a long timeout, the next fire finds the job running and is skipped.
        var long = ScheduleBook(limits: .init(global: 2, perAgent: 1))
        var schedule = try Self.schedule(redis, ["15 */6 * * *"], delay: .zero)
        schedule.timeout = .seconds(24 * 3600)
        _ = long.add(schedule, now: Self.start, lastScheduled: nil)
        var slow = Simulation(book: long)
        slow.duration = { _ in 7 * 3600 }
        slow.run(from: Self.start, to: Self.start + 86_400)
        #expect(!slow.skipped.isEmpty)
        #expect(slow.skipped.allSatisfy { $0.reason.contains("still running") })
        #expect(slow.started.count + slow.skipped.count == 4, "four fire times a day")
    }

    @Test("a job for a disconnected agent waits until its deadline, then fails with that reason")
    func disconnectedAgent() throws {
        var simulation = try Self.simulation()
        // `secrets` is away for the first two days; `vectors` comes back 30 minutes late.
        simulation.isConnected = { agent, now in
            switch agent {
            case "secrets": now >= Self.start + 2 * 86_400
            case "vectors": now >= Date(timeIntervalSince1970: 1_791_676_800)  // Oct 11 02:00 CEST
            default: true
            }
        }
        simulation.run(from: Self.start, to: Self.start + 3 * 86_400)
        let vault = simulation.failed.filter { $0.job.key.agent == "secrets" }
        #expect(!vault.isEmpty)
        #expect(
            vault.allSatisfy { $0.reason == "agent secrets did not connect before the deadline" })
        let qdrant = simulation.started.filter { $0.job.key.agent == "vectors" }
        #expect(qdrant.first.map { $0.at > $0.job.startAt } == true, "started late, when it came")
        #expect(!simulation.failed.contains { $0.job.key.agent == "vectors" })
    }

    @Test("fire times missed while the coordinator was down give exactly one catch-up run")
    func catchUp() throws {
        var simulation = try Self.simulation()
        let down = Self.start + 10 * 86_400
        let up = down + 30 * 3600
        simulation.run(from: Self.start, to: down)
        var last: [ComponentKey: Date] = [:]
        for job in simulation.queued {
            last[job.key] = max(last[job.key] ?? .distantPast, job.scheduledFor)
        }
        var book = ScheduleBook(limits: .init(global: 2, perAgent: 1))
        var catchUps: [ScheduleBook.Job] = []
        for schedule in try Self.seedSchedules() {
            for case .queue(let job) in book.add(
                schedule, now: up, lastScheduled: last[schedule.key])
            {
                catchUps.append(job)
            }
        }
        #expect(catchUps.count == 7, "every component missed at least one fire in 30 hours")
        #expect(catchUps.allSatisfy { $0.trigger == .catchup && $0.scheduledFor == up })
        #expect(Set(catchUps.map(\.key)).count == 7, "one each")
        // A weekly-only schedule whose fire time was not missed gets none.
        var weekly = ScheduleBook(limits: .init())
        let sunday = try Self.schedule(Self.key("db", "weekly"), ["0 3 * * 0"])
        let lastSunday = try #require(sunday.nextFire(after: down - 7 * 86_400))
        #expect(lastSunday < down)
        #expect(weekly.add(sunday, now: up, lastScheduled: lastSunday).isEmpty)
        var resumed = Simulation(book: book)
        resumed.run(from: up, to: up + 86_400)
        #expect(resumed.started.filter { $0.job.trigger == .catchup }.count == 7)
    }

    @Test("a removed component is no longer scheduled and its waiting job is dropped")
    func removal() throws {
        var simulation = try Self.simulation()
        simulation.isConnected = { agent, _ in agent != "secrets" }
        simulation.run(from: Self.start, to: Self.start + 86_400)
        let vault = Self.key("secrets", "vault")
        let dropped = simulation.book.remove(vault)
        #expect(!simulation.book.isScheduled(vault))
        #expect(dropped.allSatisfy { $0.key == vault && !$0.isRunning })
        let before = simulation.queued.filter { $0.key == vault }.count
        simulation.run(from: Self.start + 86_400, to: Self.start + 3 * 86_400)
        #expect(simulation.queued.filter { $0.key == vault }.count == before)
        #expect(
            simulation.queued.contains {
                $0.key.agent == "db" && $0.scheduledFor > Self.start + 86_400
            })
    }

    @Test("the snapshots kept after a month are the GFS set of the golden file")
    func keptSnapshots() throws {
        var simulation = try Self.simulation()
        simulation.run(from: Self.start, to: Self.end)
        let policies: [String: RetentionPolicy] = [
            "zentoria": RetentionPolicy(
                keepWithinHourly: RetentionDuration(days: 7),
                keepWithinDaily: RetentionDuration(days: 30),
                keepWithinWeekly: RetentionDuration(days: 84)),
            "redis": RetentionPolicy(keepWithin: RetentionDuration(days: 7)),
            "qdrant": RetentionPolicy(keepWithinDaily: RetentionDuration(days: 30)),
            "minio": RetentionPolicy(keepWithinDaily: RetentionDuration(days: 30)),
            "n8n": RetentionPolicy(keepWithinDaily: RetentionDuration(days: 90)),
            "vault": RetentionPolicy(keepWithinDaily: RetentionDuration(days: 30)),
            "files": .keepAll,
        ]
        var lines: [String] = []
        let format = Date.ISO8601FormatStyle(timeZone: Self.amsterdam)
        for key in Set(simulation.succeeded.map(\.job.key)).sorted() {
            let candidates = simulation.succeeded.filter { $0.job.key == key }.map {
                RetentionCandidate(id: "\($0.job.id)", time: $0.job.startAt, tags: [])
            }
            let plan = RetentionPlan.make(
                snapshots: candidates, policy: policies[key.component]!, timeZone: Self.amsterdam)
            lines.append("\(key): keep \(plan.keep.count) of \(candidates.count)")
            for kept in plan.keep.reversed() {
                lines.append(
                    "  \(format.format(kept.snapshot.time)) \(kept.reasons.map(\.description).joined(separator: ", "))"
                )
            }
        }
        let text = lines.joined(separator: "\n") + "\n"
        let path = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("Golden/month-kept.txt").path
        if ProcessInfo.processInfo.environment["ZENTORIA_REGENERATE_GOLDEN"] == "1" {
            try text.write(toFile: path, atomically: true, encoding: .utf8)
        }
        let golden = try String(contentsOfFile: path, encoding: .utf8)
        #expect(text == golden, "kept snapshots differ from Golden/month-kept.txt")
    }
}

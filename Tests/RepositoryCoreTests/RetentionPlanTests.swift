import Foundation
import RepositoryCore
import Testing

@Suite("Retention plan")
struct RetentionPlanTests {
    /// Candidates named by their time, e.g. "2026-11-20T12:00:00+01:00".
    static func candidates(_ times: [String]) -> [RetentionCandidate] {
        times.map { RetentionCandidate(id: $0, time: instant($0)) }
    }

    static func reasons(_ plan: RetentionPlan) -> [String: [String]] {
        Dictionary(
            uniqueKeysWithValues: plan.keep.map { ($0.snapshot.id, $0.reasons.map(\.description)) })
    }

    @Test("an empty group gives an empty plan")
    func emptyGroup() {
        let plan = RetentionPlan.make(
            snapshots: [], policy: RetentionPolicy(keepDaily: 7), timeZone: amsterdam)
        #expect(plan == RetentionPlan())
    }

    @Test("reasons come in restic's order: within, last, buckets, within-buckets")
    func reasonOrder() {
        let snapshots = Self.candidates(["2026-11-20T12:00:00+01:00", "2026-11-10T12:00:00+01:00"])
        let policy = RetentionPolicy(
            keepLast: 1, keepDaily: 5, keepYearly: 1, keepWithin: .init(days: 7),
            keepWithinHourly: .init(days: 2), keepWithinDaily: .init(months: 1))
        let plan = RetentionPlan.make(snapshots: snapshots, policy: policy, timeZone: amsterdam)
        #expect(
            Self.reasons(plan) == [
                "2026-11-20T12:00:00+01:00": [
                    "within 7d", "last snapshot", "daily snapshot", "yearly snapshot",
                    "hourly within 2d", "daily within 1m",
                ],
                "2026-11-10T12:00:00+01:00": ["daily snapshot", "daily within 1m"],
            ])
    }

    @Test("keep-within is measured from the newest snapshot, exclusive of the boundary")
    func withinBoundary() {
        let snapshots = Self.candidates([
            "2026-11-20T12:00:00+01:00", "2026-11-13T12:00:01+01:00", "2026-11-13T12:00:00+01:00",
        ])
        let plan = RetentionPlan.make(
            snapshots: snapshots, policy: RetentionPolicy(keepWithin: .init(days: 7)),
            timeZone: amsterdam)
        #expect(plan.forget.map(\.id) == ["2026-11-13T12:00:00+01:00"])
    }

    @Test("the newest snapshot before now sets latest; later ones are within every duration")
    func futureSnapshots() {
        let snapshots = Self.candidates([
            "2031-01-01T12:00:00+01:00", "2026-11-10T12:00:00+01:00", "2026-11-05T12:00:00+01:00",
            "2026-11-01T12:00:00+01:00",
        ])
        let policy = RetentionPolicy(keepWithin: .init(days: 7))
        let now = instant("2026-11-27T00:00:00+01:00")
        let withNow = RetentionPlan.make(
            snapshots: snapshots, policy: policy, timeZone: amsterdam, now: now)
        #expect(withNow.forget.map(\.id) == ["2026-11-01T12:00:00+01:00"])
        let withoutNow = RetentionPlan.make(
            snapshots: snapshots, policy: policy, timeZone: amsterdam)
        #expect(withoutNow.keptSnapshots.map(\.id) == ["2031-01-01T12:00:00+01:00"])
        let allFuture = RetentionPlan.make(
            snapshots: snapshots, policy: policy, timeZone: amsterdam,
            now: instant("2020-01-01T00:00:00+01:00"))
        #expect(allFuture.forget.isEmpty)
    }

    @Test("snapshots at the same instant are ordered by ID; the first takes the bucket")
    func ties() {
        let time = instant("2026-11-20T12:00:00+01:00")
        let snapshots = ["c", "a", "b"].map { RetentionCandidate(id: $0, time: time) }
        let plan = RetentionPlan.make(
            snapshots: snapshots, policy: RetentionPolicy(keepLast: 2, keepDaily: 1),
            timeZone: amsterdam)
        #expect(plan.keep.map(\.snapshot.id) == ["a", "b"])
        #expect(
            plan.keep.map { $0.reasons.map(\.description) } == [
                ["last snapshot", "daily snapshot"], ["last snapshot"],
            ])
        #expect(plan.forget.map(\.id) == ["c"])
    }

    @Test("keepLast unlimited keeps everything; an unlimited bucket rule keeps one per bucket")
    func unlimited() {
        let snapshots = Self.candidates([
            "2026-11-20T12:00:00+01:00", "2026-11-20T08:00:00+01:00", "2026-11-19T23:00:00+01:00",
            "2020-01-01T00:00:00+01:00",
        ])
        let all = RetentionPlan.make(snapshots: snapshots, policy: .keepAll, timeZone: amsterdam)
        #expect(all.forget.isEmpty && all.keep.count == 4)
        #expect(all.keep.allSatisfy { $0.reasons == [.last] })
        let daily = RetentionPlan.make(
            snapshots: snapshots, policy: RetentionPolicy(keepDaily: .unlimited),
            timeZone: amsterdam)
        #expect(daily.forget.map(\.id) == ["2026-11-20T08:00:00+01:00"])
    }

    @Test("a policy with no rule in force keeps everything, like restic's ApplyPolicy")
    func emptyPolicy() {
        let snapshots = Self.candidates(["2026-11-20T12:00:00+01:00", "2026-11-19T12:00:00+01:00"])
        for policy in [RetentionPolicy(), RetentionPolicy(keepDaily: 0, keepWithin: .init())] {
            let plan = RetentionPlan.make(snapshots: snapshots, policy: policy, timeZone: amsterdam)
            #expect(plan.forget.isEmpty)
            #expect(plan.keep.allSatisfy { $0.reasons == [.emptyPolicy] })
        }
    }

    @Test("a negative count keeps nothing by that rule, as in restic 0.14 (validate rejects it)")
    func negativeCount() {
        let snapshots = Self.candidates(["2026-11-20T12:00:00+01:00", "2026-11-19T12:00:00+01:00"])
        let plan = RetentionPlan.make(
            snapshots: snapshots, policy: RetentionPolicy(keepDaily: -1), timeZone: amsterdam)
        #expect(plan.keep.isEmpty && plan.forget.count == 2)
    }

    @Test("buckets are read in the given time zone")
    func timeZones() {
        // 23:30 UTC is the next day in Amsterdam.
        let snapshots = Self.candidates(["2026-06-02T00:30:00+02:00", "2026-06-01T23:45:00+02:00"])
        let policy = RetentionPolicy(keepDaily: 5)
        let local = RetentionPlan.make(snapshots: snapshots, policy: policy, timeZone: amsterdam)
        #expect(local.forget.isEmpty)
        let utc = RetentionPlan.make(snapshots: snapshots, policy: policy, timeZone: .gmt)
        #expect(utc.forget.map(\.id) == ["2026-06-01T23:45:00+02:00"])
    }

    @Test("the hour repeated when clocks go back is one hourly bucket")
    func repeatedHour() {
        let snapshots = Self.candidates([
            "2026-10-25T02:10:00+01:00", "2026-10-25T02:50:00+02:00", "2026-10-25T01:50:00+02:00",
        ])
        let plan = RetentionPlan.make(
            snapshots: snapshots, policy: RetentionPolicy(keepHourly: 5), timeZone: amsterdam)
        #expect(plan.forget.map(\.id) == ["2026-10-25T02:50:00+02:00"])
    }

    @Test("describes itself")
    func description() {
        let snapshots = Self.candidates(["2026-11-20T12:00:00+01:00", "2026-11-20T11:00:00+01:00"])
        let plan = RetentionPlan.make(
            snapshots: snapshots, policy: RetentionPolicy(keepLast: 1), timeZone: amsterdam)
        #expect(plan.description == "keep 1 snapshot(s), forget 1")
    }
}

@Suite("Retention buckets")
struct RetentionBucketTests {
    @Test("keys are restic's integers")
    func keys() {
        let date = instant("2026-03-29T03:05:00+02:00")
        #expect(RetentionBucket.hourly.key(for: date, in: amsterdam) == 2_026_032_903)
        #expect(RetentionBucket.daily.key(for: date, in: amsterdam) == 20_260_329)
        #expect(RetentionBucket.weekly.key(for: date, in: amsterdam) == 202_613)
        #expect(RetentionBucket.monthly.key(for: date, in: amsterdam) == 202_603)
        #expect(RetentionBucket.yearly.key(for: date, in: amsterdam) == 2026)
    }

    @Test("wall-clock fields and ISO weeks agree with Foundation's calendar for 30 years")
    func agreesWithCalendar() {
        var calendar = Calendar(identifier: .iso8601)
        calendar.timeZone = amsterdam
        var date = instant("2000-01-01T00:00:00+01:00")
        let end = instant("2030-01-01T00:00:00+01:00")
        while date < end {
            let c = calendar.dateComponents(
                [.year, .month, .day, .hour, .yearForWeekOfYear, .weekOfYear], from: date)
            #expect(
                RetentionBucket.hourly.key(for: date, in: amsterdam)
                    == c.year! * 1_000_000 + c.month! * 10_000 + c.day! * 100 + c.hour!)
            #expect(
                RetentionBucket.weekly.key(for: date, in: amsterdam)
                    == c.yearForWeekOfYear! * 100 + c.weekOfYear!, "\(date)")
            date += 86_400 * 0.73 + 1  // walks through every hour of the day over the years
        }
    }
}

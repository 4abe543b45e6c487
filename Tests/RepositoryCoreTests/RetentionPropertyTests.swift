import Foundation
import RepositoryCore
import TestSupport
import Testing

/// Properties of `RetentionPlan.make` over generated groups and policies. Each seed drives many
/// rounds; a failure names its seed and round, and the list ends with a fresh random seed.
@Suite("Retention properties")
struct RetentionPropertyTests {
    static let seeds: [UInt64] = [
        1, 2, 3, 42, 2026, 0xDEAD_BEEF, UInt64.random(in: 1...UInt64.max),
    ]
    static let rounds = 150
    static let zones = [
        "Europe/Amsterdam", "UTC", "America/New_York", "Australia/Lord_Howe", "Asia/Kolkata",
    ]
    .map { TimeZone(identifier: $0)! }

    // MARK: Generators

    /// A group with the awkward cases made likely: bursts within an hour, same-second ties,
    /// DST changes in several zones, month and year ends, long gaps.
    static func snapshots(_ random: inout SeededRandom) -> [RetentionCandidate] {
        let anchors = [
            "2026-03-29T01:00:00Z", "2026-10-25T00:30:00Z", "2026-03-08T06:30:00Z",
            "2026-04-05T15:00:00Z", "2025-12-31T23:00:00Z", "2026-06-15T12:00:00Z",
        ].map(instant)
        let count = Int.random(in: 0...90, using: &random)
        var times: [Date] = []
        for _ in 0..<count {
            if let previous = times.randomElement(using: &random), random.chance(0.15) {
                times.append(previous)  // a tie
                continue
            }
            let anchor = anchors.randomElement(using: &random)!
            let spreads: [Int] = [120, 3 * 3600, 2 * 86_400, 40 * 86_400, 800 * 86_400]
            let spread = spreads.randomElement(using: &random)!
            let offset = Int.random(in: -spread...spread, using: &random)
            times.append(anchor.addingTimeInterval(Double(offset)))
        }
        return times.enumerated().map {
            RetentionCandidate(id: String(format: "s%03d", $0), time: $1)
        }
    }

    static func count(_ random: inout SeededRandom) -> RetentionCount? {
        guard random.chance(0.35) else { return nil }
        return random.chance(0.1) ? .unlimited : .count(Int.random(in: 1...8, using: &random))
    }

    static func duration(_ random: inout SeededRandom) -> RetentionDuration? {
        guard random.chance(0.25) else { return nil }
        var d = RetentionDuration(
            years: random.chance(0.1) ? 1 : 0,
            months: random.chance(0.2) ? Int.random(in: 1...3, using: &random) : 0,
            days: random.chance(0.7) ? Int.random(in: 1...40, using: &random) : 0,
            hours: random.chance(0.4) ? Int.random(in: 1...48, using: &random) : 0)
        if d.isZero { d.hours = 1 }
        return d
    }

    static func policy(_ random: inout SeededRandom) -> RetentionPolicy {
        RetentionPolicy(
            keepLast: count(&random), keepHourly: count(&random), keepDaily: count(&random),
            keepWeekly: count(&random), keepMonthly: count(&random), keepYearly: count(&random),
            keepWithin: duration(&random), keepWithinHourly: duration(&random),
            keepWithinDaily: duration(&random), keepWithinWeekly: duration(&random),
            keepWithinMonthly: duration(&random), keepWithinYearly: duration(&random))
    }

    /// Runs `body` for `rounds` generated cases of `seed`, labelling failures with both.
    static func forEachCase(
        seed: UInt64,
        _ body: (
            _ snapshots: [RetentionCandidate], _ policy: RetentionPolicy, _ zone: TimeZone,
            _ random: inout SeededRandom, _ label: Comment
        ) throws -> Void
    ) rethrows {
        var random = SeededRandom(seed: seed)
        for round in 0..<rounds {
            let zone = zones.randomElement(using: &random)!
            let label = Comment(rawValue: "seed \(seed) round \(round) zone \(zone.identifier)")
            try body(snapshots(&random), policy(&random), zone, &random, label)
        }
    }

    // MARK: Properties

    @Test("the newest snapshot is kept whenever a count rule is at least 1", arguments: seeds)
    func newestIsKept(seed: UInt64) {
        Self.forEachCase(seed: seed) { snapshots, policy, zone, random, label in
            var policy = policy
            if ![
                policy.keepLast, policy.keepHourly, policy.keepDaily, policy.keepWeekly,
                policy.keepMonthly, policy.keepYearly,
            ].contains(where: { $0 != nil }) {
                policy.keepWeekly = .count(Int.random(in: 1...3, using: &random))
            }
            let plan = RetentionPlan.make(snapshots: snapshots, policy: policy, timeZone: zone)
            let newest = snapshots.sorted(by: RetentionCandidate.isOrderedNewestFirst).first
            #expect(plan.keep.first?.snapshot == newest, label)
        }
    }

    @Test("the plan does not depend on the order of the input", arguments: seeds)
    func orderIndependent(seed: UInt64) {
        Self.forEachCase(seed: seed) { snapshots, policy, zone, random, label in
            let plan = RetentionPlan.make(snapshots: snapshots, policy: policy, timeZone: zone)
            let shuffled = RetentionPlan.make(
                snapshots: snapshots.shuffled(using: &random), policy: policy, timeZone: zone)
            #expect(plan == shuffled, label)
        }
    }

    @Test("keep and forget partition the input, each newest first", arguments: seeds)
    func partition(seed: UInt64) {
        Self.forEachCase(seed: seed) { snapshots, policy, zone, _, label in
            let plan = RetentionPlan.make(snapshots: snapshots, policy: policy, timeZone: zone)
            let kept = plan.keptSnapshots.map(\.id)
            let forgotten = plan.forget.map(\.id)
            #expect(Set(kept).isDisjoint(with: forgotten), label)
            #expect((kept + forgotten).sorted() == snapshots.map(\.id).sorted(), label)
            for list in [plan.keptSnapshots, plan.forget] {
                #expect(list == list.sorted(by: RetentionCandidate.isOrderedNewestFirst), label)
            }
            #expect(plan.keep.allSatisfy { !$0.reasons.isEmpty }, label)
        }
    }

    @Test("keepDaily N keeps the newest snapshot of each of the newest N days", arguments: seeds)
    func keepDaily(seed: UInt64) {
        Self.forEachCase(seed: seed) { snapshots, _, zone, random, label in
            let n = Int.random(in: 1...12, using: &random)
            let plan = RetentionPlan.make(
                snapshots: snapshots, policy: RetentionPolicy(keepDaily: .count(n)), timeZone: zone)
            let day = { (s: RetentionCandidate) in RetentionBucket.daily.key(for: s.time, in: zone)
            }
            let days = Set(snapshots.map(day))
            #expect(Set(plan.keptSnapshots.map(day)).count == min(n, days.count), label)
            #expect(plan.keptSnapshots.count == min(n, days.count), label)
            #expect(plan.keptSnapshots == Self.newestPerBucket(snapshots, .daily, n, zone), label)
        }
    }

    @Test(
        "each bucket rule alone keeps the newest snapshot of its newest N buckets", arguments: seeds
    )
    func bucketModel(seed: UInt64) {
        Self.forEachCase(seed: seed) { snapshots, _, zone, random, label in
            let bucket = RetentionBucket.allCases.randomElement(using: &random)!
            let count: RetentionCount =
                random.chance(0.2) ? .unlimited : .count(Int.random(in: 1...10, using: &random))
            var policy = RetentionPolicy()
            switch bucket {
            case .hourly: policy.keepHourly = count
            case .daily: policy.keepDaily = count
            case .weekly: policy.keepWeekly = count
            case .monthly: policy.keepMonthly = count
            case .yearly: policy.keepYearly = count
            }
            let plan = RetentionPlan.make(snapshots: snapshots, policy: policy, timeZone: zone)
            let limit = if case .count(let n) = count { n } else { Int.max }
            #expect(
                plan.keptSnapshots == Self.newestPerBucket(snapshots, bucket, limit, zone), label)
        }
    }

    @Test(
        "keepWithin keeps exactly the snapshots newer than latest minus the duration",
        arguments: seeds)
    func withinModel(seed: UInt64) {
        Self.forEachCase(seed: seed) { snapshots, _, zone, random, label in
            guard let latest = snapshots.map(\.time).max() else { return }
            let duration = Self.duration(&random) ?? RetentionDuration(days: 7)
            let plan = RetentionPlan.make(
                snapshots: snapshots, policy: RetentionPolicy(keepWithin: duration), timeZone: zone)
            let cutoff = duration.subtracted(from: latest, in: zone)
            #expect(
                Set(plan.keptSnapshots.map(\.id))
                    == Set(snapshots.filter { $0.time > cutoff }.map(\.id)), label)
        }
    }

    /// The model: newest snapshot of each distinct bucket, for the `limit` newest buckets.
    static func newestPerBucket(
        _ snapshots: [RetentionCandidate], _ bucket: RetentionBucket, _ limit: Int, _ zone: TimeZone
    ) -> [RetentionCandidate] {
        var seen = Set<Int>()
        var kept: [RetentionCandidate] = []
        for snapshot in snapshots.sorted(by: RetentionCandidate.isOrderedNewestFirst)
        where seen.count < limit {
            if seen.insert(bucket.key(for: snapshot.time, in: zone)).inserted {
                kept.append(snapshot)
            }
        }
        return kept
    }
}

package import Foundation

/// Which snapshots of one group a policy keeps and which it forgets, and why: a value computed
/// from values alone, so it can be printed, tested and dry-run before anything is deleted.
package struct RetentionPlan: Hashable, Sendable, CustomStringConvertible {
    /// A kept snapshot and every rule that kept it, in restic's order.
    package struct Kept: Hashable, Sendable {
        package var snapshot: RetentionCandidate
        package var reasons: [RetentionReason]

        package init(snapshot: RetentionCandidate, reasons: [RetentionReason]) {
            (self.snapshot, self.reasons) = (snapshot, reasons)
        }
    }

    /// Kept snapshots, newest first (ties by ID).
    package var keep: [Kept]
    /// Forgotten snapshots, newest first (ties by ID).
    package var forget: [RetentionCandidate]

    package init(keep: [Kept] = [], forget: [RetentionCandidate] = []) {
        (self.keep, self.forget) = (keep, forget)
    }

    /// The kept snapshots without their reasons, newest first.
    package var keptSnapshots: [RetentionCandidate] { keep.map(\.snapshot) }

    package var description: String {
        "keep \(keep.count) snapshot(s), forget \(forget.count)"
    }

    /// Applies `policy` to one group of snapshots: restic 0.14's `ApplyPolicy`, step for step.
    ///
    /// 1. Sort newest first; snapshots taken at the same instant are ordered by ID (restic
    ///    leaves them in load order, which varies), so the plan does not depend on the order of
    ///    `snapshots`.
    /// 2. `latest` is the newest snapshot time, or with `now` the newest time before `now`
    ///    (restic passes its clock here and ignores snapshots dated in the future; with no
    ///    snapshot before `now` every snapshot counts as within every duration). Each duration
    ///    rule's cut-off is `latest` minus the duration, see
    ///    ``RetentionDuration/subtracted(from:in:)``; "within" means strictly newer than it.
    /// 3. Walk the snapshots newest first. Each rule keeps the snapshot for these reasons, in
    ///    this order: `keepWithin` if it is within; each count rule with count left (last,
    ///    hourly, daily, weekly, monthly, yearly) if the snapshot's bucket differs from the
    ///    bucket of the last snapshot that rule kept, using one count (keep-last's bucket is the
    ///    snapshot's position, so it keeps the newest n); each within-bucket rule (hourly …
    ///    yearly) if the snapshot is within and its bucket differs from the bucket of the last
    ///    snapshot that rule kept. Buckets are read on the wall clock of `timeZone`.
    /// 4. A snapshot some rule kept is kept with all those reasons; the rest are forgotten.
    ///
    /// Deliberate differences from restic 0.14:
    /// - `.unlimited` counts: restic 0.14 has none (`-1` there turns the rule off); they follow
    ///   restic ≥ 0.16, which keeps one snapshot per bucket without ever running out.
    /// - Newer restic (0.16+) also keeps the oldest snapshot while a count rule has count left;
    ///   0.14 does not, and neither does this.
    /// - Bucket keys use `timeZone` for every snapshot. restic uses the UTC offset recorded in
    ///   each snapshot (its local zone when that offset matches), which is the same whenever
    ///   snapshots were recorded in the zone the plan is made in.
    /// - A policy with no rule in force keeps everything with ``RetentionReason/emptyPolicy``,
    ///   as restic's `ApplyPolicy` does; ``RetentionPolicy/validate()`` rejects such a policy
    ///   before it gets here.
    package static func make(
        snapshots: [RetentionCandidate], policy: RetentionPolicy, timeZone: TimeZone,
        now: Date? = nil
    ) -> RetentionPlan {
        let sorted = snapshots.sorted(by: RetentionCandidate.isOrderedNewestFirst)
        if policy.isEmpty {
            return RetentionPlan(keep: sorted.map { Kept(snapshot: $0, reasons: [.emptyPolicy]) })
        }
        let latest = sorted.first { candidate in now.map { candidate.time < $0 } ?? true }?.time

        func cutoff(_ duration: RetentionDuration?) -> Cutoff? {
            guard let duration, !duration.isZero else { return nil }
            return Cutoff(
                duration: duration,
                instant: latest.map { duration.subtracted(from: $0, in: timeZone) })
        }
        let within = cutoff(policy.keepWithin)
        var counters = policy.countRules.compactMap { rule in
            rule.count.map { CountRule(budget: $0.initialBudget, bucket: rule.bucket) }
        }
        var withinBuckets = policy.withinBucketRules.compactMap { rule in
            cutoff(rule.duration).map { WithinBucketRule(cutoff: $0, bucket: rule.bucket) }
        }

        var plan = RetentionPlan()
        for (position, snapshot) in sorted.enumerated() {
            let clock = WallClock(snapshot.time, in: timeZone)
            var reasons: [RetentionReason] = []
            if let within, within.contains(snapshot.time) {
                reasons.append(.within(within.duration))
            }
            for index in counters.indices where counters[index].hasBudget {
                let key = counters[index].bucket?.key(for: clock) ?? position
                if counters[index].lastKey != key {
                    counters[index].take(key)
                    reasons.append(counters[index].bucket.map { .bucket($0) } ?? .last)
                }
            }
            for index in withinBuckets.indices
            where withinBuckets[index].cutoff.contains(snapshot.time) {
                let rule = withinBuckets[index]
                let key = rule.bucket.key(for: clock)
                if rule.lastKey != key {
                    withinBuckets[index].lastKey = key
                    reasons.append(.bucketWithin(rule.bucket, rule.cutoff.duration))
                }
            }
            if reasons.isEmpty {
                plan.forget.append(snapshot)
            } else {
                plan.keep.append(Kept(snapshot: snapshot, reasons: reasons))
            }
        }
        return plan
    }
}

/// A duration rule's boundary: within means strictly newer than `instant`; no instant (no
/// snapshot before `now`) means everything is within.
private struct Cutoff {
    var duration: RetentionDuration
    var instant: Date?

    func contains(_ time: Date) -> Bool { instant.map { time > $0 } ?? true }
}

private struct CountRule {
    /// Count left; `nil` for unlimited.
    var budget: Int?
    /// `nil` for keep-last, whose key is the snapshot's position.
    var bucket: RetentionBucket?
    var lastKey: Int?

    var hasBudget: Bool { budget.map { $0 > 0 } ?? true }

    mutating func take(_ key: Int) {
        lastKey = key
        budget = budget.map { $0 - 1 }
    }
}

private struct WithinBucketRule {
    var cutoff: Cutoff
    var bucket: RetentionBucket
    var lastKey: Int?
}

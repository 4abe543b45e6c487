package import Foundation

extension CronExpression {
    /// The first instant strictly after `instant` at which the schedule fires on the wall
    /// clock of `timeZone`, or `nil` if it never fires.
    ///
    /// Wall-clock times are Gregorian calendar readings; `timeZone`'s UTC offsets and
    /// transitions map them to instants, and daylight-saving gaps and repeats follow the rules
    /// in ``CronExpression``. The search skips months, days and hours that cannot match, so it
    /// costs a few steps per month searched rather than one per minute. A schedule that no
    /// calendar day satisfies (`0 0 30 2 *`) returns `nil` without searching; any other fires
    /// within one 400-year Gregorian cycle, which bounds the search.
    ///
    /// - Parameters:
    ///   - instant: the search starts just after this instant.
    ///   - timeZone: the zone whose wall clock the fields describe.
    /// - Returns: the next fire instant, always later than `instant`.
    package func nextFire(after instant: Date, in timeZone: TimeZone) -> Date? {
        guard isSatisfiable else { return nil }
        let after = instant.timeIntervalSince1970
        let hourIsFixed = !hours.isWildcard
        // Walk the zone's constant-offset segments. Start two days early so the segment holding
        // `instant` is entered through its transition and a repeated hour is recognised.
        var segmentStart = after - 2 * 86_400
        var offset = Self.offset(of: timeZone, at: segmentStart)
        var earliestWall = segmentStart + offset
        let horizon = Self.minute(ceiling: after + offset) + 401 * 366 * 24 * 60
        while true {
            let transition = timeZone.nextDaylightSavingTimeTransition(
                after: Date(timeIntervalSince1970: segmentStart))?.timeIntervalSince1970
            if transition.map({ $0 > after }) ?? true {
                let lowest = max(
                    Self.minute(floor: after + offset) + 1, Self.minute(ceiling: earliestWall))
                let end = transition.map { min(Self.minute(ceiling: $0 + offset), horizon) }
                if let wall = firstMatch(from: lowest, before: end ?? horizon) {
                    return Date(timeIntervalSince1970: Double(wall) * 60 - offset)
                }
            }
            guard let transition, Self.minute(floor: transition + offset) < horizon else {
                return nil
            }
            let newOffset = Self.offset(of: timeZone, at: transition)
            // Spring forward: a fixed-hour job due in the gap fires once, as the gap ends.
            if newOffset > offset, hourIsFixed, transition > after {
                let gap = firstMatch(
                    from: Self.minute(ceiling: transition + offset),
                    before: Self.minute(ceiling: transition + newOffset))
                if gap != nil { return Date(timeIntervalSince1970: transition) }
            }
            // Fall back: a fixed-hour job skips the second occurrence of the repeated times.
            earliestWall = transition + (hourIsFixed ? max(offset, newOffset) : newOffset)
            (segmentStart, offset) = (transition, newOffset)
        }
    }

    /// Every fire instant later than `start` and no later than `end`, in order.
    ///
    /// - Parameters:
    ///   - start: exclusive lower bound.
    ///   - end: inclusive upper bound.
    ///   - timeZone: the zone whose wall clock the fields describe.
    /// - Returns: the instants ``nextFire(after:in:)`` yields one after another from `start`.
    package func fireTimes(from start: Date, through end: Date, in timeZone: TimeZone) -> [Date] {
        var result: [Date] = []
        var cursor = start
        while let next = nextFire(after: cursor, in: timeZone), next <= end {
            result.append(next)
            cursor = next
        }
        return result
    }

    /// The first wall-clock minute in `lowest..<end` that the fields match, if any.
    private func firstMatch(from lowest: Int, before end: Int) -> Int? {
        guard lowest < end else { return nil }
        let limit = WallTime(minutes: end)
        var time = WallTime(minutes: lowest)
        while time < limit {
            guard months.contains(time.month) else {
                time.advanceToNextMonth()
                continue
            }
            guard matchesDay(time), let hour = hours.first(atOrAfter: time.hour) else {
                time.advanceToNextDay()
                continue
            }
            if hour > time.hour { time.advance(toHour: hour) }
            guard let minute = minutes.first(atOrAfter: time.minute) else {
                time.advanceToNextHour()
                continue
            }
            time.advance(toMinute: minute)
            return time < limit ? time.minutes : nil
        }
        return nil
    }

    private static func offset(of timeZone: TimeZone, at seconds: Double) -> Double {
        Double(timeZone.secondsFromGMT(for: Date(timeIntervalSince1970: seconds)))
    }

    private static func minute(floor seconds: Double) -> Int { Int((seconds / 60).rounded(.down)) }

    private static func minute(ceiling seconds: Double) -> Int { Int((seconds / 60).rounded(.up)) }
}

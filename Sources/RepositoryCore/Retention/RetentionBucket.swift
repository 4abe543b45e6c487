package import Foundation

/// A calendar period that bucket rules keep one snapshot of, read on the wall clock of the
/// planning time zone.
package enum RetentionBucket: String, Hashable, Sendable, CaseIterable {
    /// Local year, month, day and hour. The hour repeated when clocks go back is one bucket.
    case hourly
    /// Local calendar day.
    case daily
    /// ISO 8601 week: weeks start on Monday and belong to the year holding their Thursday, so
    /// 2025-12-29 is in week 1 of 2026.
    case weekly
    /// Local year and month.
    case monthly
    /// Local year.
    case yearly

    /// The bucket of `date` as one integer, like restic's bucket functions: `YYYYMMDDHH`,
    /// `YYYYMMDD`, `YYYYWW` (ISO year and week), `YYYYMM`, `YYYY`.
    package func key(for date: Date, in timeZone: TimeZone) -> Int {
        key(for: WallClock(date, in: timeZone))
    }

    func key(for clock: WallClock) -> Int {
        switch self {
        case .hourly:
            clock.year * 1_000_000 + clock.month * 10_000 + clock.day * 100 + clock.hour
        case .daily: clock.year * 10_000 + clock.month * 100 + clock.day
        case .weekly:
            clock.isoWeek.year * 100 + clock.isoWeek.week
        case .monthly: clock.year * 100 + clock.month
        case .yearly: clock.year
        }
    }
}

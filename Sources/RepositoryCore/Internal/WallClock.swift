import Foundation

/// What a wall clock in some time zone reads at an instant.
///
/// Computed with proleptic Gregorian day arithmetic over the zone's UTC offset, the way Go's
/// `time` package does it, rather than with `Calendar`: restic's bucket keys come from Go's
/// `Year()`, `Month()`, `Day()`, `Hour()` and `ISOWeek()`, and its keep-within cut-offs from
/// `AddDate`, so these must agree with Go to the second.
struct WallClock: Hashable, Sendable {
    var year: Int
    /// 1...12
    var month: Int
    /// 1...31
    var day: Int
    var hour: Int
    var minute: Int
    var second: Int
    /// Days from 1970-01-01 to the local date.
    var dayNumber: Int
    /// The part of the instant below one second, in `0..<1`.
    var fraction: Double

    init(_ date: Date, in timeZone: TimeZone) {
        let interval = date.timeIntervalSince1970
        precondition(interval.isFinite, "a snapshot time must be finite")
        let whole = interval.rounded(.down)
        let local = Int(whole) + timeZone.secondsFromGMT(for: date)
        dayNumber = Self.floorDivide(local, 86_400)
        let secondOfDay = local - dayNumber * 86_400
        (year, month, day) = Self.civilDate(dayNumber: dayNumber)
        hour = secondOfDay / 3600
        minute = secondOfDay / 60 % 60
        second = secondOfDay % 60
        fraction = interval - whole
    }

    /// ISO 8601 week-numbering year and week (weeks start on Monday; week 1 holds the year's
    /// first Thursday), like Go's `Time.ISOWeek`.
    var isoWeek: (year: Int, week: Int) {
        // 1970-01-01 was a Thursday; Monday is 1, Sunday 7.
        let weekday = Self.floorModulo(dayNumber + 3, 7) + 1
        let thursday = dayNumber - weekday + 4
        let isoYear = Self.civilDate(dayNumber: thursday).year
        let week = (thursday - Self.dayNumber(year: isoYear, month: 1, day: 1)) / 7 + 1
        return (isoYear, week)
    }

    /// The instant this wall-clock reading moved by whole years, months and days, like Go's
    /// `t.AddDate(years, months, days)` for a `t` in `timeZone`.
    ///
    /// Go adds the fields and then normalizes: a month past 12 carries into the year and a day
    /// past the month's end carries into the next month (2026-03-31 minus one month is
    /// "2026-02-31", which is 2026-03-03). A reading that the zone skips (a spring-forward gap)
    /// or repeats (an autumn overlap) is resolved like Go's `time.Date`, see ``instant(year:month:day:hour:minute:second:in:)``.
    func addingDate(years: Int, months: Int, days: Int, in timeZone: TimeZone) -> Date {
        let seconds = Self.instant(
            year: year + years, month: month + months, day: day + days, hour: hour,
            minute: minute, second: second, in: timeZone)
        return Date(timeIntervalSince1970: Double(seconds) + fraction)
    }

    /// Unix seconds of the instant at which the wall clock in `timeZone` reads the given fields,
    /// which may be out of range (they are normalized first).
    ///
    /// Resolution is Go's `time.Date`: read the fields as if they were UTC, take the zone's
    /// offset at that instant as a guess, then use the offset in force at (fields - guess).
    /// In a gap this lands after it (2026-03-29 02:30 Amsterdam becomes 03:30 CEST); in an
    /// overlap it picks the later, standard-time reading (2026-10-25 02:30 becomes 02:30 CET).
    static func instant(
        year: Int, month: Int, day: Int, hour: Int, minute: Int, second: Int,
        in timeZone: TimeZone
    ) -> Int {
        let monthIndex = month - 1
        let normalizedYear = year + floorDivide(monthIndex, 12)
        let normalizedMonth = floorModulo(monthIndex, 12) + 1
        let days = dayNumber(year: normalizedYear, month: normalizedMonth, day: 1) + day - 1
        let wall = days * 86_400 + hour * 3600 + minute * 60 + second
        let guess = offset(at: wall, in: timeZone)
        return wall - offset(at: wall - guess, in: timeZone)
    }

    private static func offset(at unixSeconds: Int, in timeZone: TimeZone) -> Int {
        timeZone.secondsFromGMT(for: Date(timeIntervalSince1970: Double(unixSeconds)))
    }

    /// Days from 1970-01-01 to a proleptic Gregorian date; `day` may lie outside the month.
    static func dayNumber(year: Int, month: Int, day: Int) -> Int {
        // Count in 400-year eras of 146,097 days, with years starting on 1 March so that the
        // leap day is the last day of its year.
        let marchYear = month <= 2 ? year - 1 : year
        let era = floorDivide(marchYear, 400)
        let yearOfEra = marchYear - era * 400
        let monthFromMarch = month > 2 ? month - 3 : month + 9
        let dayOfYear = (153 * monthFromMarch + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        return era * 146_097 + dayOfEra - 719_468
    }

    /// The proleptic Gregorian date `dayNumber` days after 1970-01-01.
    static func civilDate(dayNumber: Int) -> (year: Int, month: Int, day: Int) {
        let fromEpoch = dayNumber + 719_468  // days since 0000-03-01
        let era = floorDivide(fromEpoch, 146_097)
        let dayOfEra = fromEpoch - era * 146_097
        let yearOfEra =
            (dayOfEra - dayOfEra / 1460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let monthFromMarch = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * monthFromMarch + 2) / 5 + 1
        let month = monthFromMarch < 10 ? monthFromMarch + 3 : monthFromMarch - 9
        return (yearOfEra + era * 400 + (month <= 2 ? 1 : 0), month, day)
    }

    static func floorDivide(_ a: Int, _ b: Int) -> Int {
        let quotient = a / b
        return (a % b != 0 && (a < 0) != (b < 0)) ? quotient - 1 : quotient
    }

    static func floorModulo(_ a: Int, _ b: Int) -> Int { a - floorDivide(a, b) * b }
}

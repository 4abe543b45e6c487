package import Foundation

/// A calendar duration of years, months, days and hours, written as restic writes it: `7d`,
/// `12h`, `84d`, `2y5m7d3h` (`m` is months; there are no minutes).
///
/// It is not a fixed number of seconds: going back from an instant moves the wall clock of a
/// time zone by calendar years, months and days and then subtracts whole hours, exactly as
/// restic's `latest.AddDate(-y, -m, -d).Add(-h * time.Hour)` does, see
/// ``subtracted(from:in:)``. So `7d` across a daylight-saving change is 167 or 169 hours.
package struct RetentionDuration: Hashable, Sendable, CustomStringConvertible {
    package var years: Int
    package var months: Int
    package var days: Int
    package var hours: Int

    package init(years: Int = 0, months: Int = 0, days: Int = 0, hours: Int = 0) {
        (self.years, self.months, self.days, self.hours) = (years, months, days, hours)
    }

    /// Parses restic's form: one or more `<number><unit>` with unit `y`, `m` (months), `d` or
    /// `h`, e.g. `7d`, `1y2m`, `2y5m7d3h`. Surrounding whitespace is ignored.
    ///
    /// Stricter than restic, which accepts an empty string (no duration), a sign (`-7d`) and a
    /// unit given twice (the last wins): each of those is an error here.
    /// - Throws: ``RepositoryError/Code/invalidArgument`` naming the text and what is wrong.
    package init(_ text: String) throws {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        func failure(_ problem: String) -> RepositoryError {
            RepositoryError(
                .invalidArgument,
                "\"\(text)\" \(problem); expected a duration such as 7d, 12h or 2y5m7d3h "
                    + "(y years, m months, d days, h hours)")
        }
        guard !trimmed.isEmpty else { throw failure("is empty") }
        var result = RetentionDuration()
        var seen: Set<Character> = []
        var rest = Substring(trimmed)
        while !rest.isEmpty {
            let digits = rest.prefix { $0.isASCII && $0.isNumber }
            guard !digits.isEmpty else {
                throw failure("has \"\(rest.prefix(1))\" where a number should be")
            }
            guard let number = Int(digits), number <= Self.maximumComponent else {
                throw failure("has the number \(digits), which is too large")
            }
            rest = rest.dropFirst(digits.count)
            guard let unit = rest.first else {
                throw failure("has no unit after the number \(number)")
            }
            guard "ymdh".contains(unit) else {
                throw failure("has the unknown unit \"\(unit)\" after the number \(number)")
            }
            guard seen.insert(unit).inserted else {
                throw failure("gives the unit \"\(unit)\" twice")
            }
            switch unit {
            case "y": result.years = number
            case "m": result.months = number
            case "d": result.days = number
            default: result.hours = number
            }
            rest = rest.dropFirst()
        }
        self = result
    }

    /// Keeps the arithmetic far from overflow: a million years is plenty for retention.
    private static let maximumComponent = 1_000_000

    /// Whether every component is zero. restic treats such a duration as "rule not set".
    package var isZero: Bool { years == 0 && months == 0 && days == 0 && hours == 0 }

    /// restic's spelling: the non-zero components in the order y, m, d, h (`1y2m`, `7d`); `0h`
    /// for zero, where restic prints nothing.
    package var description: String {
        guard !isZero else { return "0h" }
        return [(years, "y"), (months, "m"), (days, "d"), (hours, "h")]
            .filter { $0.0 != 0 }
            .map { "\($0.0)\($0.1)" }
            .joined()
    }

    /// `date` moved back by this duration on the wall clock of `timeZone`: restic's
    /// `date.AddDate(-years, -months, -days).Add(-hours * time.Hour)`.
    ///
    /// Years, months and days move the local calendar date keeping the local time of day; a day
    /// past the end of a month carries over (2026-03-31 minus `1m` is "2026-02-31", which is
    /// 2026-03-03; 2024-02-29 minus `1y` is 2023-03-01); a local time that the new date skips or
    /// repeats at a daylight-saving change is resolved like Go's `time.Date` (a skipped 02:30
    /// becomes 03:30 summer time, a repeated one the later, winter-time 02:30). Hours are then
    /// subtracted as elapsed time, 3600 seconds each. So "latest minus `1y2m`" is the same local
    /// time on the date one year and two months earlier, normalized as above.
    package func subtracted(from date: Date, in timeZone: TimeZone) -> Date {
        WallClock(date, in: timeZone)
            .addingDate(years: -years, months: -months, days: -days, in: timeZone)
            .addingTimeInterval(-3600 * Double(hours))
    }
}

extension RetentionDuration: Codable {
    /// Encoded as restic's string form, e.g. `"30d"`.
    package init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        let text = try container.decode(String.self)
        do {
            self = try RetentionDuration(text)
        } catch let error as RepositoryError {
            throw DecodingError.dataCorruptedError(
                in: container, debugDescription: error.message)
        }
    }

    package func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }
}

/// A parsed five-field cron schedule: `minute hour day-of-month month day-of-week`.
///
/// Each field is a comma-separated list of `*`, `a`, `a-b`, `*/n`, `a-b/n` or `a/n` (`a` to
/// the end of the field's range, every `n`). Months accept `JAN`–`DEC`, days of the week
/// `SUN`–`SAT` (any case), and day-of-week 0 and 7 both mean Sunday. The macros `@hourly`,
/// `@daily`, `@midnight`, `@weekly`, `@monthly`, `@yearly` and `@annually` stand for their
/// usual five-field forms (`@weekly` is Sunday 00:00).
///
/// A field whose text starts with `*` (`*` or `*/n`) is a *wildcard*, as in Vixie cron and
/// cronie. When neither day-of-month nor day-of-week is a wildcard, a day matches if either
/// field matches (`0 0 13 * FRI` fires on every 13th and every Friday); otherwise a day must
/// match both.
///
/// The schedule is evaluated on the wall clock of a time zone (see
/// ``nextFire(after:in:)``). Where daylight saving time makes wall-clock times vanish or repeat:
///
/// - Spring forward, fixed hour (hour field not a wildcard): matching times that fall in the
///   gap fire once, at the first instant after the gap. `30 2 * * *` in Europe/Amsterdam fires
///   at 03:00 CEST on the last Sunday of March; `*/15 2 * * *` fires only that once for the
///   whole gap.
/// - Spring forward, wildcard hour (`@hourly`, `30 * * * *`, `*/15 */2 * * *`): times in the
///   gap are skipped, as that hour never happened; the next real hour fires as usual, so an
///   hourly job stays one hour apart.
/// - Fall back, fixed hour: a time in the repeated hour fires only at its first occurrence.
/// - Fall back, wildcard hour: a time in the repeated hour fires at both occurrences, since
///   each is a real hour.
///
/// Equality compares the parsed schedule, not the text: `@daily` equals `0 0 * * *`.
package struct CronExpression: Hashable, Sendable, CustomStringConvertible {
    /// The text the expression was parsed from, unchanged.
    package let description: String
    let minutes: CronField
    let hours: CronField
    let daysOfMonth: CronField
    let months: CronField
    let daysOfWeek: CronField

    /// An expression written into the program (a default), which cannot be invalid.
    package init(builtIn text: String) {
        do {
            try self.init(text)
        } catch {
            preconditionFailure("built-in cron expression '\(text)' is invalid: \(error)")
        }
    }

    /// Parses a cron expression.
    ///
    /// - Parameter text: five whitespace-separated fields, or one of the `@` macros.
    /// - Throws: ``CronError`` whose message names the field, the token and the problem.
    package init(_ text: String) throws {
        description = text
        var fields = text.split(whereSeparator: \.isWhitespace)
        if let first = fields.first, first.hasPrefix("@") {
            guard fields.count == 1, let expansion = Self.macros[first.lowercased()] else {
                let shown = fields.joined(separator: " ")
                throw CronError(.unknownMacro, "\(shown) is not a supported macro")
            }
            fields = expansion.split(separator: " ")
        }
        guard fields.count == 5 else {
            throw CronError(.fieldCount, "expected 5 fields, found \(fields.count)")
        }
        minutes = try CronField(parsing: fields[0], as: .minute)
        hours = try CronField(parsing: fields[1], as: .hour)
        daysOfMonth = try CronField(parsing: fields[2], as: .dayOfMonth)
        months = try CronField(parsing: fields[3], as: .month)
        daysOfWeek = try CronField(parsing: fields[4], as: .dayOfWeek)
    }

    private static let macros: [String: String] = [
        "@hourly": "0 * * * *", "@daily": "0 0 * * *", "@midnight": "0 0 * * *",
        "@weekly": "0 0 * * 0", "@monthly": "0 0 1 * *", "@yearly": "0 0 1 1 *",
        "@annually": "0 0 1 1 *",
    ]

    /// Whether the day-of-month and day-of-week fields allow this day: either one when neither
    /// is a wildcard, otherwise both.
    func matchesDay(_ time: WallTime) -> Bool {
        let dayOfMonth = daysOfMonth.contains(time.day)
        let dayOfWeek = daysOfWeek.contains(time.weekday)
        if daysOfMonth.isWildcard || daysOfWeek.isWildcard { return dayOfMonth && dayOfWeek }
        return dayOfMonth || dayOfWeek
    }

    /// Whether some calendar day can ever match: false for `0 0 30 2 *` or `0 0 31 4,6,9,11 *`.
    ///
    /// Only the month/day-of-month pair can be impossible: every date of the Gregorian calendar
    /// falls on each weekday within one 400-year cycle, and an OR'ed day-of-week field occurs
    /// in every month.
    var isSatisfiable: Bool {
        if daysOfMonth.isWildcard || !daysOfWeek.isWildcard { return true }
        let longestMonth = [0, 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]
        let earliestDay = daysOfMonth.first(atOrAfter: 1) ?? 32
        return (1...12).contains { months.contains($0) && earliestDay <= longestMonth[$0] }
    }

    package static func == (a: Self, b: Self) -> Bool {
        (a.minutes, a.hours, a.daysOfMonth, a.months, a.daysOfWeek)
            == (b.minutes, b.hours, b.daysOfMonth, b.months, b.daysOfWeek)
    }

    package func hash(into hasher: inout Hasher) {
        for field in [minutes, hours, daysOfMonth, months, daysOfWeek] { hasher.combine(field) }
    }
}

internal import Foundation

/// A wall-clock reading to the minute, in no time zone: what cron fields are matched against.
///
/// `minutes` counts minutes since 1970-01-01 00:00 on the same wall clock, so a zone offset
/// turns a reading into an instant: `minutes * 60 - offset` seconds since the epoch. Stepping
/// forward is plain arithmetic; the Gregorian calendar is consulted only to convert.
struct WallTime: Comparable {
    private(set) var year: Int
    private(set) var month: Int
    private(set) var day: Int
    private(set) var hour: Int
    private(set) var minute: Int
    /// 0 = Sunday … 6 = Saturday, as cron numbers weekdays.
    private(set) var weekday: Int

    /// Gregorian calendar at offset zero: reads `minutes` as the wall clock it encodes.
    private static let calendar: Calendar = {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = .gmt
        return calendar
    }()

    init(minutes: Int) {
        let date = Date(timeIntervalSince1970: Double(minutes) * 60)
        let parts = Self.calendar.dateComponents(
            [.year, .month, .day, .hour, .minute, .weekday], from: date)
        guard let year = parts.year, let month = parts.month, let day = parts.day,
            let hour = parts.hour, let minute = parts.minute, let weekday = parts.weekday
        else { preconditionFailure("Gregorian calendar returned incomplete components") }
        (self.year, self.month, self.day, self.hour, self.minute) = (year, month, day, hour, minute)
        self.weekday = weekday - 1
    }

    var minutes: Int {
        let parts = DateComponents(year: year, month: month, day: day, hour: hour, minute: minute)
        guard let date = Self.calendar.date(from: parts) else {
            preconditionFailure("Gregorian calendar rejected \(parts)")
        }
        return Int((date.timeIntervalSince1970 / 60).rounded())
    }

    var daysInMonth: Int {
        switch month {
        case 2: year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) ? 29 : 28
        case 4, 6, 9, 11: 30
        default: 31
        }
    }

    /// Moves to 00:00 on the first day of the next month.
    mutating func advanceToNextMonth() {
        weekday = (weekday + daysInMonth - day + 1) % 7
        (day, hour, minute) = (1, 0, 0)
        if month == 12 { (year, month) = (year + 1, 1) } else { month += 1 }
    }

    /// Moves to 00:00 on the next day.
    mutating func advanceToNextDay() {
        if day == daysInMonth { return advanceToNextMonth() }
        weekday = (weekday + 1) % 7
        (day, hour, minute) = (day + 1, 0, 0)
    }

    /// Moves to minute 0 of the next hour.
    mutating func advanceToNextHour() {
        if hour == 23 { return advanceToNextDay() }
        (hour, minute) = (hour + 1, 0)
    }

    /// Moves forward within the day to minute 0 of `hour`.
    mutating func advance(toHour hour: Int) {
        precondition(hour > self.hour && hour < 24, "hour \(hour) is not later today")
        (self.hour, minute) = (hour, 0)
    }

    /// Moves forward within the hour to `minute`.
    mutating func advance(toMinute minute: Int) {
        precondition(minute >= self.minute && minute < 60, "minute \(minute) is not later")
        self.minute = minute
    }

    static func < (a: Self, b: Self) -> Bool {
        (a.year, a.month, a.day, a.hour, a.minute) < (b.year, b.month, b.day, b.hour, b.minute)
    }
}

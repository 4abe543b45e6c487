import CoordinatorCore
import Foundation
import TestSupport
import Testing

/// Random expressions against a brute-force oracle that steps minute by minute.
///
/// The generator keeps every expression due within eight days, so a nine-day brute-force
/// window always holds the answer: months stay `*`, a listed day-of-month always comes with a
/// listed day-of-week (the two OR together), and `*/n` days of the month are at most seven apart.
@Suite("Cron properties")
struct CronPropertyTests {
    static let zones = [
        "UTC", "Europe/Amsterdam", "America/New_York", "Australia/Lord_Howe", "Asia/Kolkata",
    ]
    static let casesPerSeed = 100

    @Test(
        "nextFire is later, matches the wall clock, and no matching minute is skipped",
        arguments: SeededRandom.seeds())
    func nextFireAgreesWithBruteForce(seed: UInt64) throws {
        var random = SeededRandom(seed: seed)
        for _ in 0..<Self.casesPerSeed {
            let schedule = RandomSchedule(using: &random)
            let timeZone = zone(Self.zones.randomElement(using: &random)!)
            let start = Self.randomStart(in: timeZone, using: &random)
            let context =
                "seed \(seed): \"\(schedule.text)\" after \(iso(start)) in \(timeZone.identifier)"
            let fire = try #require(
                try CronExpression(schedule.text).nextFire(after: start, in: timeZone), "\(context)"
            )
            #expect(fire > start, "\(context)")
            #expect(
                schedule.matches(fire, in: timeZone) || schedule.isGapShift(fire, in: timeZone),
                "\(context): \(iso(fire)) does not match")
            #expect(fire == schedule.bruteForceNextFire(after: start, in: timeZone), "\(context)")
        }
    }

    /// Three starts in four fall near a transition, most of them in the few hours before it,
    /// where the gap and repeat rules decide the answer.
    private static func randomStart(
        in timeZone: TimeZone, using random: inout SeededRandom
    ) -> Date {
        let uniform = Date(timeIntervalSince1970: .random(in: 1.58e9...1.89e9, using: &random))
        guard Int.random(in: 0..<4, using: &random) > 0,
            let transition = timeZone.nextDaylightSavingTimeTransition(after: uniform)
        else { return uniform }
        let nudge = [
            0, -1, -0.5, 60 * Double(Int.random(in: -2_160...2_160, using: &random)),
            60 * Double(Int.random(in: -240...90, using: &random)),
            60 * Double(Int.random(in: -240...90, using: &random)),
        ]
        return transition.addingTimeInterval(nudge.randomElement(using: &random)!)
    }
}

/// A random cron expression with the value sets it should select, worked out independently.
private struct RandomSchedule {
    var text: String
    var minutes: Set<Int>
    var hours: Set<Int>
    var hourIsWildcard: Bool
    var daysOfMonth: Set<Int>
    var daysOfWeek: Set<Int>
    /// Day-of-month and day-of-week combine with OR only when neither starts with `*`.
    var daysCombineWithOr: Bool

    init(using random: inout SeededRandom) {
        let (minuteText, minutes) = Self.field(0...59, using: &random)
        let (hourText, hours) = Self.field(0...23, using: &random)
        var (domText, daysOfMonth) = ("*", Set(1...31))
        var (dowText, daysOfWeek) = ("*", Set(0...6))
        switch Int.random(in: 0..<4, using: &random) {
        case 0:
            break
        case 1:
            let step = Int.random(in: 1...7, using: &random)
            (domText, daysOfMonth) = ("*/\(step)", Set(stride(from: 1, through: 31, by: step)))
        case 2:
            (dowText, daysOfWeek) = Self.list(0...7, names: true, using: &random)
        default:
            (domText, daysOfMonth) = Self.list(1...31, names: false, using: &random)
            (dowText, daysOfWeek) = Self.list(0...7, names: true, using: &random)
        }
        text = [minuteText, hourText, domText, "*", dowText].joined(separator: " ")
        (self.minutes, self.hours, self.daysOfMonth) = (minutes, hours, daysOfMonth)
        self.daysOfWeek = Set(daysOfWeek.map { $0 % 7 })
        hourIsWildcard = hourText.hasPrefix("*")
        daysCombineWithOr = !domText.hasPrefix("*") && !dowText.hasPrefix("*")
    }

    /// A whole field: sometimes `*` or `*/n`, otherwise a list.
    private static func field(
        _ range: ClosedRange<Int>, using random: inout SeededRandom
    ) -> (String, Set<Int>) {
        switch Int.random(in: 0..<5, using: &random) {
        case 0: return ("*", Set(range))
        case 1:
            let step = Int.random(in: 1...(range.upperBound / 2), using: &random)
            return (
                "*/\(step)",
                Set(stride(from: range.lowerBound, through: range.upperBound, by: step))
            )
        default: return list(range, names: false, using: &random)
        }
    }

    /// One to three of `a`, `a-b`, `a-b/n` and `a/n`; weekdays sometimes by name.
    private static func list(
        _ range: ClosedRange<Int>, names: Bool, using random: inout SeededRandom
    ) -> (String, Set<Int>) {
        // No name for 7: `SUN` is 0, so `FRI-SUN` would be a reversed range.
        let weekdays = ["SUN", "mon", "Tue", "WED", "thu", "Fri", "sat"]
        func spell(_ value: Int) -> String {
            names && value < 7 && Bool.random(using: &random) ? weekdays[value] : "\(value)"
        }
        var terms: [String] = []
        var values = Set<Int>()
        for _ in 0..<Int.random(in: 1...3, using: &random) {
            let low = Int.random(in: range, using: &random)
            let high = Int.random(in: low...range.upperBound, using: &random)
            let step = Int.random(in: 1...5, using: &random)
            switch Int.random(in: 0..<4, using: &random) {
            case 0:
                terms.append(spell(low))
                values.insert(low)
            case 1:
                terms.append("\(spell(low))-\(spell(high))")
                values.formUnion(low...high)
            case 2:
                terms.append("\(spell(low))-\(spell(high))/\(step)")
                values.formUnion(stride(from: low, through: high, by: step))
            default:
                terms.append("\(spell(low))/\(step)")
                values.formUnion(stride(from: low, through: range.upperBound, by: step))
            }
        }
        return (terms.joined(separator: ","), values)
    }

    /// Whether the wall-clock reading of `date` in `timeZone` matches every field.
    func matches(_ date: Date, in timeZone: TimeZone) -> Bool {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = timeZone
        return matches(calendar.dateComponents([.day, .hour, .minute, .weekday], from: date))
    }

    private func matches(_ wall: DateComponents) -> Bool {
        let dayOfMonth = daysOfMonth.contains(wall.day!)
        let dayOfWeek = daysOfWeek.contains(wall.weekday! - 1)
        let day = daysCombineWithOr ? dayOfMonth || dayOfWeek : dayOfMonth && dayOfWeek
        return day && hours.contains(wall.hour!) && minutes.contains(wall.minute!)
    }

    /// Whether `date` is the end of a spring-forward gap holding a time a fixed hour matches.
    func isGapShift(_ date: Date, in timeZone: TimeZone) -> Bool {
        let before = timeZone.secondsFromGMT(for: date.addingTimeInterval(-1))
        let after = timeZone.secondsFromGMT(for: date)
        guard !hourIsWildcard, after > before else { return false }
        var wallClock = Calendar(identifier: .gregorian)
        wallClock.timeZone = TimeZone(secondsFromGMT: 0)!
        let gapStart = date.addingTimeInterval(Double(before))
        return stride(from: 0, to: after - before, by: 60).contains { seconds in
            let wall = gapStart.addingTimeInterval(Double(seconds))
            return matches(wallClock.dateComponents([.day, .hour, .minute, .weekday], from: wall))
        }
    }

    /// The oracle: step through every whole UTC minute after `start` (the test zones' offsets
    /// are whole minutes) and apply the DST rules directly.
    func bruteForceNextFire(after start: Date, in timeZone: TimeZone) -> Date? {
        var candidate = (start.timeIntervalSince1970 / 60).rounded(.down) * 60 + 60
        let last = candidate + 9 * 86_400
        while candidate <= last {
            let date = Date(timeIntervalSince1970: candidate)
            if isGapShift(date, in: timeZone) { return date }
            if matches(date, in: timeZone) && (hourIsWildcard || !isRepeat(date, in: timeZone)) {
                return date
            }
            candidate += 60
        }
        return nil
    }

    /// Whether the wall-clock reading of `date` already occurred earlier (after a fall back).
    private func isRepeat(_ date: Date, in timeZone: TimeZone) -> Bool {
        let offset = timeZone.secondsFromGMT(for: date)
        return [1_800, 3_600, 7_200].contains { shift in
            timeZone.secondsFromGMT(for: date.addingTimeInterval(-Double(shift))) == offset + shift
        }
    }
}

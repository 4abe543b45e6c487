import CoordinatorCore
import Foundation
import Testing

@Suite("Cron next fire")
struct CronNextFireTests {
    private func next(
        _ text: String, after start: String, in name: String = "UTC"
    ) throws
        -> String?
    {
        try CronExpression(text).nextFire(after: instant(start), in: zone(name)).map(iso)
    }

    @Test("the next fire is strictly after the start, even a fractional one")
    func strictlyAfter() throws {
        #expect(try next("* * * * *", after: "2024-01-01T00:00:00Z") == "2024-01-01T00:01:00Z")
        let fractional = instant("2024-01-01T00:00:00Z").addingTimeInterval(0.5)
        let fire = try CronExpression("* * * * *").nextFire(after: fractional, in: zone("UTC"))
        #expect(fire.map(iso) == "2024-01-01T00:01:00Z")
        #expect(
            try next("0 0 1 1 *", after: "2024-01-01T00:00:00Z") == "2025-01-01T00:00:00Z")
    }

    @Test("month ends: day 31 and day 30 skip the months that lack them")
    func monthEnds() throws {
        #expect(try next("0 0 31 * *", after: "2024-04-15T00:00:00Z") == "2024-05-31T00:00:00Z")
        #expect(try next("0 0 31 * *", after: "2024-05-31T00:00:00Z") == "2024-07-31T00:00:00Z")
        #expect(
            try next("59 23 30 * *", after: "2024-01-31T00:00:00Z") == "2024-03-30T23:59:00Z")
        #expect(
            try next("0 0 1 * *", after: "2024-12-31T23:59:00Z") == "2025-01-01T00:00:00Z")
    }

    @Test("February 29 fires only in leap years, skipping 2100")
    func leapDay() throws {
        let text = "0 0 29 2 *"
        #expect(try next(text, after: "2023-03-01T00:00:00Z") == "2024-02-29T00:00:00Z")
        #expect(try next(text, after: "2024-02-29T00:00:00Z") == "2028-02-29T00:00:00Z")
        #expect(try next(text, after: "2096-03-01T00:00:00Z") == "2104-02-29T00:00:00Z")
    }

    @Test("restricted day-of-month and day-of-week combine with OR")
    func dayOrRule() throws {
        // January 2024: Fridays are the 5th, 12th, 19th and 26th; the 13th is a Saturday.
        let fires = try CronExpression("0 0 13 * FRI").fireTimes(
            from: instant("2024-01-01T00:00:00Z"), through: instant("2024-01-31T00:00:00Z"),
            in: zone("UTC"))
        #expect(
            fires.map(iso) == [
                "2024-01-05T00:00:00Z", "2024-01-12T00:00:00Z", "2024-01-13T00:00:00Z",
                "2024-01-19T00:00:00Z", "2024-01-26T00:00:00Z",
            ])
    }

    @Test("a day field written with * combines with AND, as in Vixie cron")
    func dayAndRule() throws {
        // Odd days that are Mondays: 1 January is excluded as the start, the 8th is even.
        #expect(
            try next("0 0 */2 * MON", after: "2024-01-01T00:00:00Z") == "2024-01-15T00:00:00Z")
        // 29 February on a Sunday: 2088, then not again until 2128 (2100 is not a leap year).
        #expect(
            try next("0 0 29 2 */7", after: "2088-03-01T00:00:00Z") == "2128-02-29T00:00:00Z")
    }

    @Test("a fixed-offset zone shifts fires by its offset")
    func fixedOffsetZone() throws {
        #expect(
            try next("0 9 * * *", after: "2024-01-01T00:00:00Z", in: "Asia/Kolkata")
                == "2024-01-01T03:30:00Z")
    }

    @Test(
        "impossible schedules return nil without a long search",
        arguments: ["0 0 30 2 *", "0 0 31 4,6,9,11 *", "0 0 31 FEB *", "0 0 30,31 2 */2"])
    func impossible(text: String) throws {
        let expression = try CronExpression(text)
        let clock = ContinuousClock()
        let elapsed = clock.measure {
            for name in ["UTC", "Europe/Amsterdam", "America/New_York"] {
                #expect(
                    expression.nextFire(after: instant("2024-01-01T00:00:00Z"), in: zone(name))
                        == nil)
            }
        }
        #expect(elapsed < .milliseconds(100))
    }

    @Test("rare schedules are found by skipping, not by stepping minutes")
    func efficiency() throws {
        let clock = ContinuousClock()
        let yearly = try CronExpression("59 23 31 12 *")
        let rare = try CronExpression("0 0 29 2 */7")
        let elapsed = clock.measure {
            var cursor = instant("2024-01-01T00:00:00Z")
            for _ in 0..<50 {
                cursor = yearly.nextFire(after: cursor, in: zone("Europe/Amsterdam"))!
            }
            #expect(iso(cursor) == "2073-12-31T22:59:00Z")
            #expect(
                rare.nextFire(after: instant("2088-03-01T00:00:00Z"), in: zone("America/New_York"))
                    != nil)
        }
        #expect(elapsed < .seconds(1))
    }

    @Test("fireTimes excludes the start and includes the end")
    func fireTimesBounds() throws {
        let fires = try CronExpression("*/30 * * * *").fireTimes(
            from: instant("2024-01-01T00:00:00Z"), through: instant("2024-01-01T01:00:00Z"),
            in: zone("UTC"))
        #expect(fires.map(iso) == ["2024-01-01T00:30:00Z", "2024-01-01T01:00:00Z"])
    }
}

import CoordinatorCore
import Foundation
import Testing

/// Expected instants are worked out by hand from the 2024 transitions:
/// - Europe/Amsterdam: 31 March 01:00Z (02:00 CET becomes 03:00 CEST),
///   27 October 01:00Z (03:00 CEST becomes 02:00 CET).
/// - America/New_York: 10 March 07:00Z (02:00 EST becomes 03:00 EDT),
///   3 November 06:00Z (02:00 EDT becomes 01:00 EST).
@Suite("Cron daylight saving time")
struct CronDaylightSavingTests {
    struct Case: CustomTestStringConvertible, Sendable {
        let what: String
        let text: String
        let zone: String
        let start: String
        let end: String
        let fires: [String]
        var testDescription: String { "\(zone) \(text): \(what)" }
    }

    static let amsterdamSpring: [Case] = [
        Case(
            what: "02:30 does not exist and fires at 03:00 CEST",
            text: "30 2 * * *", zone: "Europe/Amsterdam",
            start: "2024-03-30T12:00:00Z", end: "2024-04-01T12:00:00Z",
            fires: ["2024-03-31T01:00:00Z", "2024-04-01T00:30:00Z"]),
        Case(
            what: "four times in the gap fire once",
            text: "*/15 2 * * *", zone: "Europe/Amsterdam",
            start: "2024-03-30T12:00:00Z", end: "2024-04-01T12:00:00Z",
            fires: [
                "2024-03-31T01:00:00Z", "2024-04-01T00:00:00Z", "2024-04-01T00:15:00Z",
                "2024-04-01T00:30:00Z", "2024-04-01T00:45:00Z",
            ]),
        Case(
            what: "a gap time and 03:00 coincide and fire once",
            text: "0 2,3 * * *", zone: "Europe/Amsterdam",
            start: "2024-03-30T12:00:00Z", end: "2024-03-31T12:00:00Z",
            fires: ["2024-03-31T01:00:00Z"]),
        Case(
            what: "wildcard hour skips the missing hour",
            text: "30 * * * *", zone: "Europe/Amsterdam",
            start: "2024-03-30T23:00:00Z", end: "2024-03-31T02:00:00Z",
            fires: ["2024-03-30T23:30:00Z", "2024-03-31T00:30:00Z", "2024-03-31T01:30:00Z"]),
        Case(
            what: "every quarter hour runs straight through the gap",
            text: "*/15 * * * *", zone: "Europe/Amsterdam",
            start: "2024-03-31T00:30:00Z", end: "2024-03-31T01:30:00Z",
            fires: [
                "2024-03-31T00:45:00Z", "2024-03-31T01:00:00Z", "2024-03-31T01:15:00Z",
                "2024-03-31T01:30:00Z",
            ]),
    ]

    static let amsterdamAutumn: [Case] = [
        Case(
            what: "fixed hour fires at the first 02:30 only",
            text: "30 2 * * *", zone: "Europe/Amsterdam",
            start: "2024-10-26T12:00:00Z", end: "2024-10-28T12:00:00Z",
            fires: ["2024-10-27T00:30:00Z", "2024-10-28T01:30:00Z"]),
        Case(
            what: "starting inside the second 02:00 hour skips it",
            text: "30 2 * * *", zone: "Europe/Amsterdam",
            start: "2024-10-27T01:10:00Z", end: "2024-10-28T12:00:00Z",
            fires: ["2024-10-28T01:30:00Z"]),
        Case(
            what: "fixed hour with minute steps fires in the first hour only",
            text: "*/15 2 * * *", zone: "Europe/Amsterdam",
            start: "2024-10-26T12:00:00Z", end: "2024-10-27T12:00:00Z",
            fires: [
                "2024-10-27T00:00:00Z", "2024-10-27T00:15:00Z", "2024-10-27T00:30:00Z",
                "2024-10-27T00:45:00Z",
            ]),
        Case(
            what: "@hourly fires in both 02:00 hours",
            text: "@hourly", zone: "Europe/Amsterdam",
            start: "2024-10-26T22:30:00Z", end: "2024-10-27T02:00:00Z",
            fires: [
                "2024-10-26T23:00:00Z", "2024-10-27T00:00:00Z", "2024-10-27T01:00:00Z",
                "2024-10-27T02:00:00Z",
            ]),
        Case(
            what: "every half hour stays half an hour apart",
            text: "*/30 * * * *", zone: "Europe/Amsterdam",
            start: "2024-10-26T23:45:00Z", end: "2024-10-27T02:00:00Z",
            fires: [
                "2024-10-27T00:00:00Z", "2024-10-27T00:30:00Z", "2024-10-27T01:00:00Z",
                "2024-10-27T01:30:00Z", "2024-10-27T02:00:00Z",
            ]),
    ]

    static let newYork: [Case] = [
        Case(
            what: "spring: 02:30 does not exist and fires at 03:00 EDT",
            text: "30 2 * * *", zone: "America/New_York",
            start: "2024-03-09T12:00:00Z", end: "2024-03-11T12:00:00Z",
            fires: ["2024-03-10T07:00:00Z", "2024-03-11T06:30:00Z"]),
        Case(
            what: "spring: wildcard hour skips the missing hour",
            text: "30 * * * *", zone: "America/New_York",
            start: "2024-03-10T05:00:00Z", end: "2024-03-10T08:00:00Z",
            fires: ["2024-03-10T05:30:00Z", "2024-03-10T06:30:00Z", "2024-03-10T07:30:00Z"]),
        Case(
            what: "spring: midnight keeps its wall-clock time across the change",
            text: "@daily", zone: "America/New_York",
            start: "2024-03-09T12:00:00Z", end: "2024-03-11T12:00:00Z",
            fires: ["2024-03-10T05:00:00Z", "2024-03-11T04:00:00Z"]),
        Case(
            what: "autumn: fixed hour fires at the first 01:30 only",
            text: "30 1 * * *", zone: "America/New_York",
            start: "2024-11-02T12:00:00Z", end: "2024-11-04T12:00:00Z",
            fires: ["2024-11-03T05:30:00Z", "2024-11-04T06:30:00Z"]),
        Case(
            what: "autumn: wildcard hour fires in both 01:00 hours",
            text: "30 * * * *", zone: "America/New_York",
            start: "2024-11-03T04:00:00Z", end: "2024-11-03T07:45:00Z",
            fires: [
                "2024-11-03T04:30:00Z", "2024-11-03T05:30:00Z", "2024-11-03T06:30:00Z",
                "2024-11-03T07:30:00Z",
            ]),
    ]

    /// Samoa skipped 30 December 2011 (UTC-10 to UTC+14 at 10:00Z): a whole day is one gap.
    static let skippedDay = Case(
        what: "the skipped day's noon fires once, at the start of 31 December",
        text: "0 12 * * *", zone: "Pacific/Apia",
        start: "2011-12-29T12:00:00Z", end: "2011-12-31T12:00:00Z",
        fires: ["2011-12-29T22:00:00Z", "2011-12-30T10:00:00Z", "2011-12-30T22:00:00Z"])

    @Test("spring forward in Europe/Amsterdam", arguments: amsterdamSpring)
    func amsterdamSpringForward(_ example: Case) throws { try check(example) }

    @Test("fall back in Europe/Amsterdam", arguments: amsterdamAutumn)
    func amsterdamFallBack(_ example: Case) throws { try check(example) }

    @Test("both transitions in America/New_York", arguments: newYork)
    func newYorkTransitions(_ example: Case) throws { try check(example) }

    @Test("a skipped calendar day is one gap")
    func samoa() throws { try check(Self.skippedDay) }

    private func check(_ example: Case) throws {
        let fires = try CronExpression(example.text).fireTimes(
            from: instant(example.start), through: instant(example.end), in: zone(example.zone))
        #expect(fires.map(iso) == example.fires)
    }
}

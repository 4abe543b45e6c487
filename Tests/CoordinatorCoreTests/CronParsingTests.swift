import CoordinatorCore
import Foundation
import Testing

@Suite("Cron parsing")
struct CronParsingTests {
    struct Form: CustomTestStringConvertible, Sendable {
        let text: String
        let start: String
        let end: String
        let fires: [String]
        var testDescription: String { text }
    }

    /// Each syntax form, observed through the fire times it produces in UTC.
    static let forms: [Form] = [
        Form(
            text: "* * * * *", start: "2024-01-01T00:00:00Z", end: "2024-01-01T00:03:00Z",
            fires: ["2024-01-01T00:01:00Z", "2024-01-01T00:02:00Z", "2024-01-01T00:03:00Z"]),
        Form(
            text: "5,10 1 * * *", start: "2024-01-01T00:00:00Z", end: "2024-01-01T23:59:00Z",
            fires: ["2024-01-01T01:05:00Z", "2024-01-01T01:10:00Z"]),
        Form(
            text: "10-12 0 * * *", start: "2024-01-01T00:00:00Z", end: "2024-01-01T23:59:00Z",
            fires: ["2024-01-01T00:10:00Z", "2024-01-01T00:11:00Z", "2024-01-01T00:12:00Z"]),
        Form(
            text: "*/20 0 * * *", start: "2023-12-31T23:59:00Z", end: "2024-01-01T23:59:00Z",
            fires: ["2024-01-01T00:00:00Z", "2024-01-01T00:20:00Z", "2024-01-01T00:40:00Z"]),
        Form(
            text: "10-30/10 0 * * *", start: "2024-01-01T00:00:00Z", end: "2024-01-01T23:59:00Z",
            fires: ["2024-01-01T00:10:00Z", "2024-01-01T00:20:00Z", "2024-01-01T00:30:00Z"]),
        Form(
            text: "45/5 0 * * *", start: "2024-01-01T00:00:00Z", end: "2024-01-01T23:59:00Z",
            fires: ["2024-01-01T00:45:00Z", "2024-01-01T00:50:00Z", "2024-01-01T00:55:00Z"]),
        Form(
            text: "0 9-17/4,23 1 1 *", start: "2024-01-01T00:00:00Z", end: "2024-01-02T00:00:00Z",
            fires: [
                "2024-01-01T09:00:00Z", "2024-01-01T13:00:00Z", "2024-01-01T17:00:00Z",
                "2024-01-01T23:00:00Z",
            ]),
        Form(
            text: "0 0 1 jan,Mar,DEC *", start: "2023-12-31T00:00:00Z",
            end: "2024-12-31T00:00:00Z",
            fires: ["2024-01-01T00:00:00Z", "2024-03-01T00:00:00Z", "2024-12-01T00:00:00Z"]),
        Form(
            text: "0 0 1 feb-apr/2 *", start: "2024-01-01T00:00:00Z",
            end: "2024-12-31T00:00:00Z",
            fires: ["2024-02-01T00:00:00Z", "2024-04-01T00:00:00Z"]),
        // 2024-01-01 is a Monday.
        Form(
            text: "0 0 * * mon-WED", start: "2024-01-01T00:00:00Z", end: "2024-01-08T00:00:00Z",
            fires: ["2024-01-02T00:00:00Z", "2024-01-03T00:00:00Z", "2024-01-08T00:00:00Z"]),
        Form(
            text: "0 0 * * 5-7", start: "2024-01-01T00:00:00Z", end: "2024-01-08T00:00:00Z",
            fires: ["2024-01-05T00:00:00Z", "2024-01-06T00:00:00Z", "2024-01-07T00:00:00Z"]),
        Form(
            text: "\t0  12 * *\tSun ", start: "2024-01-01T00:00:00Z",
            end: "2024-01-15T00:00:00Z",
            fires: ["2024-01-07T12:00:00Z", "2024-01-14T12:00:00Z"]),
    ]

    @Test(
        "each field syntax selects the expected minutes, hours, days and months", arguments: forms)
    func syntaxForms(_ form: Form) throws {
        let expression = try CronExpression(form.text)
        let fires = expression.fireTimes(
            from: instant(form.start), through: instant(form.end), in: zone("UTC"))
        #expect(fires.map(iso) == form.fires)
    }

    @Test("day-of-week 0, 7 and SUN all mean Sunday")
    func sundaySpellings() throws {
        let sunday = try CronExpression("0 0 * * 0")
        #expect(try CronExpression("0 0 * * 7") == sunday)
        #expect(try CronExpression("0 0 * * sun") == sunday)
        #expect(try CronExpression("0 0 * * 0,7") == sunday)
    }

    @Test(
        "macros equal their five-field forms",
        arguments: [
            ("@hourly", "0 * * * *"), ("@daily", "0 0 * * *"), ("@midnight", "0 0 * * *"),
            ("@weekly", "0 0 * * 0"), ("@monthly", "0 0 1 * *"), ("@yearly", "0 0 1 1 *"),
            ("@annually", "0 0 1 1 *"), (" @DAILY ", "0 0 * * *"),
        ])
    func macros(macro: String, fields: String) throws {
        let expanded = try CronExpression(macro)
        let written = try CronExpression(fields)
        #expect(expanded == written)
        let (start, end) = (instant("2023-12-30T12:00:00Z"), instant("2025-01-02T00:00:00Z"))
        for name in ["UTC", "Europe/Amsterdam"] {
            #expect(
                expanded.fireTimes(from: start, through: end, in: zone(name))
                    == written.fireTimes(from: start, through: end, in: zone(name)))
        }
    }

    @Test("description keeps the original text")
    func description() throws {
        #expect(try CronExpression("@weekly").description == "@weekly")
        #expect(try CronExpression(" */5  * * * MON ").description == " */5  * * * MON ")
    }

    @Test(
        "invalid expressions throw a CronError that names the field, token and reason",
        arguments: [
            ("* * * *", CronError.Code.fieldCount, "expected 5 fields, found 4"),
            ("* * * * * *", .fieldCount, "expected 5 fields, found 6"),
            ("   ", .fieldCount, "expected 5 fields, found 0"),
            ("61 * * * *", .outOfRange, "minute field: 61 is out of range 0-59"),
            ("0 24 * * *", .outOfRange, "hour field: 24 is out of range 0-23"),
            ("0 0 0 * *", .outOfRange, "day-of-month field: 0 is out of range 1-31"),
            ("0 0 * 13 *", .outOfRange, "month field: 13 is out of range 1-12"),
            ("0 0 * * 8", .outOfRange, "day-of-week field: 8 is out of range 0-7"),
            ("0 0-99999999999999999999 * * *", .outOfRange, "99999999999999999999 is out of"),
            ("*/0 * * * *", .invalidStep, "minute field: step 0 in */0 is not allowed"),
            ("0 1-5/x * * *", .invalidStep, "hour field: step x in 1-5/x is not a positive"),
            ("0 */2/3 * * *", .invalidStep, "hour field: */2/3 has more than one step"),
            ("10-5 * * * *", .reversedRange, "minute field: range 10-5 is reversed"),
            ("0 0 * * FRI-MON", .reversedRange, "day-of-week field: range FRI-MON is reversed"),
            ("x * * * *", .invalidValue, "minute field: x is not a number"),
            ("0 0 * FOO *", .invalidValue, "month field: FOO is not a number or month name"),
            ("0 0 * * MON-JAN", .invalidValue, "day-of-week field: JAN is not a number or"),
            ("0 0 JAN * *", .invalidValue, "day-of-month field: JAN is not a number"),
            ("1,,2 * * * *", .invalidValue, "minute field: empty list element in 1,,2"),
            ("-5 * * * *", .invalidValue, "minute field: missing value in -5"),
            ("+5 * * * *", .invalidValue, "minute field: +5 is not a number"),
            ("@reboot", .unknownMacro, "@reboot is not a supported macro"),
            ("@daily 0", .unknownMacro, "@daily 0 is not a supported macro"),
        ])
    func errors(text: String, code: CronError.Code, message: String) {
        let error = #expect(throws: CronError.self) { try CronExpression(text) }
        #expect(error?.code == code)
        #expect(error?.message.contains(message) == true, "\(error?.message ?? "no error")")
    }

    @Test("errors compare by code only")
    func errorEquality() {
        #expect(CronError(.outOfRange, "a") == CronError(.outOfRange, "b"))
        #expect(CronError(.outOfRange, "a") != CronError(.invalidStep, "a"))
        #expect("\(CronError(.invalidStep, "x"))" == "invalid step: x")
    }
}

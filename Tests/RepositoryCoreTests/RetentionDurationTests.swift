import Foundation
import RepositoryCore
import Testing

@Suite("Retention duration")
struct RetentionDurationTests {
    @Test(
        "parses restic's form",
        arguments: [
            ("7d", RetentionDuration(days: 7)), ("12h", RetentionDuration(hours: 12)),
            ("84d", RetentionDuration(days: 84)), ("1y2m", RetentionDuration(years: 1, months: 2)),
            ("2y5m7d3h", RetentionDuration(years: 2, months: 5, days: 7, hours: 3)),
            ("3h1d", RetentionDuration(days: 1, hours: 3)), (" 30d ", RetentionDuration(days: 30)),
            ("0d", RetentionDuration()),
        ])
    func parses(_ text: String, _ expected: RetentionDuration) throws {
        #expect(try RetentionDuration(text) == expected)
    }

    @Test(
        "rejects what is not restic's form, saying what is wrong",
        arguments: [
            ("", "is empty"), ("7", "no unit after the number 7"),
            ("7x", "unknown unit \"x\""), ("d", "\"d\" where a number should be"),
            ("-7d", "\"-\" where a number should be"), ("7d3d", "unit \"d\" twice"),
            ("7 d", "unknown unit \" \""), ("7D", "unknown unit \"D\""),
            ("99999999999999999999d", "too large"), ("1w", "unknown unit \"w\""),
        ])
    func rejects(_ text: String, _ problem: String) {
        let error = #expect(throws: RepositoryError.self) { try RetentionDuration(text) }
        #expect(error?.code == .invalidArgument)
        #expect(error?.message.contains(problem) == true, "\(error?.message ?? "")")
    }

    @Test("prints like restic: non-zero components in the order y, m, d, h")
    func description() throws {
        #expect(try RetentionDuration("3h2y").description == "2y3h")
        #expect(try RetentionDuration("0y7d").description == "7d")
        #expect(RetentionDuration(years: 1, months: 2, days: 3, hours: 4).description == "1y2m3d4h")
    }

    @Test("encodes as its string and rejects a bad string when decoding")
    func codable() throws {
        let data = try JSONEncoder().encode([RetentionDuration(years: 2, days: 7)])
        #expect(String(decoding: data, as: UTF8.self) == #"["2y7d"]"#)
        #expect(
            try JSONDecoder().decode([RetentionDuration].self, from: data) == [
                .init(years: 2, days: 7)
            ])
        #expect(throws: DecodingError.self) {
            try JSONDecoder().decode([RetentionDuration].self, from: Data(#"["7 days"]"#.utf8))
        }
    }

    @Test(
        "subtracts like Go's AddDate in the zone, then whole hours",
        arguments: [
            // Months: the day carries over past a short month's end.
            ("2026-03-31T12:00:00+02:00", "1m", "2026-03-03T12:00:00+01:00"),
            ("2026-05-31T23:59:59+02:00", "1y2m", "2025-03-31T23:59:59+02:00"),
            ("2026-05-31T23:59:59+02:00", "1m", "2026-05-01T23:59:59+02:00"),
            ("2024-02-29T12:00:00+01:00", "1y", "2023-03-01T12:00:00+01:00"),
            ("2026-01-15T10:00:00+01:00", "2m", "2025-11-15T10:00:00+01:00"),
            ("2026-01-31T10:00:00+01:00", "13m", "2024-12-31T10:00:00+01:00"),
            // Days keep the local time across a DST change: 7d is 169 or 167 hours here.
            ("2026-04-02T12:00:00+02:00", "7d", "2026-03-26T12:00:00+01:00"),
            ("2026-10-31T23:00:00+01:00", "7d", "2026-10-24T23:00:00+02:00"),
            // A local time the day skips lands after the gap; a repeated one on its second pass.
            ("2026-03-30T02:30:00+02:00", "1d", "2026-03-29T03:30:00+02:00"),
            ("2026-10-26T02:30:00+01:00", "1d", "2026-10-25T02:30:00+01:00"),
            // Hours are elapsed time, after the calendar part.
            ("2026-03-29T04:00:00+02:00", "3h", "2026-03-29T00:00:00+01:00"),
            ("2026-03-30T04:00:00+02:00", "1d3h", "2026-03-29T00:00:00+01:00"),
            ("2026-10-25T03:00:00+01:00", "2h", "2026-10-25T02:00:00+02:00"),
        ])
    func subtracts(_ latest: String, _ duration: String, _ expected: String) throws {
        let result = try RetentionDuration(duration).subtracted(
            from: instant(latest), in: amsterdam)
        #expect(rfc3339(result) == rfc3339(instant(expected)))
    }

    @Test("keeps the fraction of a second")
    func fraction() throws {
        let latest = instant("2026-06-01T12:00:00+02:00").addingTimeInterval(0.25)
        let result = try RetentionDuration("1d").subtracted(from: latest, in: amsterdam)
        #expect(result.timeIntervalSince(latest) == -86_400)
    }
}

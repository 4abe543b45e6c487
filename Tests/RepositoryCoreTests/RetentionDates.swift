import Foundation

let amsterdam = TimeZone(identifier: "Europe/Amsterdam")!

/// An instant from an RFC 3339 string with its offset, e.g. `2026-03-29T03:00:00+02:00`.
func instant(_ text: String) -> Date {
    do {
        return try Date.ISO8601FormatStyle().parse(text)
    } catch {
        preconditionFailure("bad time \(text): \(error)")
    }
}

/// How restic prints a time in its JSON: RFC 3339 with the offset in force in `timeZone`.
func rfc3339(_ date: Date, in timeZone: TimeZone = amsterdam) -> String {
    date.formatted(Date.ISO8601FormatStyle(timeZoneSeparator: .colon, timeZone: timeZone))
}

import Foundation

/// Parses an ISO 8601 instant such as `2024-03-31T01:00:00Z`.
func instant(_ text: String) -> Date {
    try! Date(text, strategy: .iso8601)
}

/// Formats an instant as ISO 8601 in UTC, so expectations read as literals.
func iso(_ date: Date) -> String {
    date.formatted(.iso8601)
}

/// The zone with this identifier; the tests need the system's time zone database.
func zone(_ identifier: String) -> TimeZone {
    TimeZone(identifier: identifier)!
}

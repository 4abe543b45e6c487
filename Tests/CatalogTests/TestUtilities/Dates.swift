import Foundation

/// Fixed dates so tests never depend on the clock: `at(n)` is `n` seconds after
/// 2023-11-14T22:13:20Z.
func at(_ seconds: Double) -> Date {
    Date(timeIntervalSince1970: 1_700_000_000 + seconds)
}

import Foundation

extension Duration {
    /// The duration as a `TimeInterval` (seconds with a fraction), for `Date` arithmetic.
    var timeInterval: TimeInterval {
        Double(components.seconds) + Double(components.attoseconds) / 1e18
    }
}

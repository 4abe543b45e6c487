import Foundation

extension Date {
    /// Whole milliseconds since 1970-01-01 UTC, the catalog's stored form of a date.
    ///
    /// Rounds to the nearest millisecond, so a date read back may differ from the one stored
    /// by less than half a millisecond.
    var catalogMilliseconds: Int64 {
        let milliseconds = (timeIntervalSince1970 * 1000).rounded()
        guard let value = Int64(exactly: milliseconds) else {
            preconditionFailure("date \(timeIntervalSince1970) s cannot be stored")
        }
        return value
    }

    /// The date `milliseconds` after 1970-01-01 UTC.
    init(catalogMilliseconds milliseconds: Int64) {
        self.init(timeIntervalSince1970: Double(milliseconds) / 1000)
    }
}

/// Why a rule kept a snapshot. Its ``description`` is the text restic puts in
/// `KeepReason.Matches` (`forget --json`, "reasons"), word for word.
package enum RetentionReason: Hashable, Sendable, CustomStringConvertible {
    /// `keepLast`: "last snapshot".
    case last
    /// `keepHourly` … `keepYearly`: "hourly snapshot" … "yearly snapshot".
    case bucket(RetentionBucket)
    /// `keepWithin`: "within 7d".
    case within(RetentionDuration)
    /// `keepWithinHourly` … `keepWithinYearly`: "hourly within 7d" … "yearly within 3y".
    case bucketWithin(RetentionBucket, RetentionDuration)
    /// The policy has no rule in force, so everything is kept: "policy is empty".
    case emptyPolicy

    package var description: String {
        switch self {
        case .last: "last snapshot"
        case .bucket(let bucket): "\(bucket.rawValue) snapshot"
        case .within(let duration): "within \(duration)"
        case .bucketWithin(let bucket, let duration): "\(bucket.rawValue) within \(duration)"
        case .emptyPolicy: "policy is empty"
        }
    }
}

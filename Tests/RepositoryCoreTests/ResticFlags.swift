import RepositoryCore

/// Builds a policy from restic `forget` flags such as `["--keep-daily", "30"]`: how the golden
/// files name their policies.
func policy(fromResticFlags flags: [String]) throws -> RetentionPolicy {
    precondition(flags.count.isMultiple(of: 2), "flags come in pairs: \(flags)")
    var policy = RetentionPolicy()
    for index in stride(from: 0, to: flags.count, by: 2) {
        let (flag, value) = (flags[index], flags[index + 1])
        func count() -> RetentionCount {
            value == "unlimited" ? .unlimited : .count(Int(value)!)
        }
        switch flag {
        case "--keep-last": policy.keepLast = count()
        case "--keep-hourly": policy.keepHourly = count()
        case "--keep-daily": policy.keepDaily = count()
        case "--keep-weekly": policy.keepWeekly = count()
        case "--keep-monthly": policy.keepMonthly = count()
        case "--keep-yearly": policy.keepYearly = count()
        case "--keep-within": policy.keepWithin = try RetentionDuration(value)
        case "--keep-within-hourly": policy.keepWithinHourly = try RetentionDuration(value)
        case "--keep-within-daily": policy.keepWithinDaily = try RetentionDuration(value)
        case "--keep-within-weekly": policy.keepWithinWeekly = try RetentionDuration(value)
        case "--keep-within-monthly": policy.keepWithinMonthly = try RetentionDuration(value)
        case "--keep-within-yearly": policy.keepWithinYearly = try RetentionDuration(value)
        default: preconditionFailure("unknown restic flag \(flag)")
        }
    }
    return policy
}

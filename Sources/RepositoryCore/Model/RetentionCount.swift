/// How many snapshots (keep-last) or buckets (hourly … yearly) a count rule keeps. A rule that is
/// off is a `nil` ``RetentionCount`` in ``RetentionPolicy``.
package enum RetentionCount: Hashable, Sendable, CustomStringConvertible {
    /// The newest `n` snapshots or buckets; ``RetentionPolicy/validate()`` requires `n >= 1`.
    case count(Int)
    /// Every snapshot (keep-last) or one snapshot in every bucket, however old.
    ///
    /// restic ≥ 0.15 spells this `--keep-daily unlimited` (stored as -1). restic 0.14 has no
    /// such value: there `-1` silently disables the rule.
    case unlimited

    /// The count this rule starts with during planning: `nil` for unlimited, `0` when it keeps
    /// nothing (restic ignores counts of 0 and below).
    var initialBudget: Int? {
        switch self {
        case .count(let n): max(n, 0)
        case .unlimited: nil
        }
    }

    package var description: String {
        switch self {
        case .count(let n): "\(n)"
        case .unlimited: "unlimited"
        }
    }
}

extension RetentionCount: ExpressibleByIntegerLiteral {
    package init(integerLiteral value: Int) { self = .count(value) }
}

extension RetentionCount: Codable {
    /// Encoded as a number, or as the string `"unlimited"`.
    package init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if let n = try? container.decode(Int.self) {
            self = .count(n)
        } else if let word = try? container.decode(String.self), word == "unlimited" {
            self = .unlimited
        } else {
            throw DecodingError.dataCorruptedError(
                in: container, debugDescription: "expected a count such as 30 or \"unlimited\"")
        }
    }

    package func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .count(let n): try container.encode(n)
        case .unlimited: try container.encode("unlimited")
        }
    }
}

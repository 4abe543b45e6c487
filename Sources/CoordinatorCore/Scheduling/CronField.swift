/// One parsed field of a cron expression: the set of values it allows.
struct CronField: Hashable, Sendable {
    /// Which of the five fields this is: its name in messages, its range and its value names.
    struct Kind: Sendable {
        let name: String
        let range: ClosedRange<Int>
        /// Three-letter names for `range.lowerBound + index`, matched case-insensitively.
        let names: [String]

        static let minute = Kind(name: "minute", range: 0...59, names: [])
        static let hour = Kind(name: "hour", range: 0...23, names: [])
        static let dayOfMonth = Kind(name: "day-of-month", range: 1...31, names: [])
        static let month = Kind(
            name: "month", range: 1...12,
            names: [
                "JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC",
            ])
        /// 0 and 7 both mean Sunday; parsing folds 7 into 0.
        static let dayOfWeek = Kind(
            name: "day-of-week", range: 0...7,
            names: ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"])
    }

    /// Bit `v` is set when value `v` is allowed.
    let bits: UInt64
    /// Whether the field text starts with `*` (`*` or `*/n`). Cron treats such a field as
    /// unrestricted for the day-of-month/day-of-week rule and as a wildcard hour for DST.
    let isWildcard: Bool

    func contains(_ value: Int) -> Bool { value >= 0 && value < 64 && bits & (1 << value) != 0 }

    /// The smallest allowed value that is at least `value`, if any.
    func first(atOrAfter value: Int) -> Int? {
        guard value < 64 else { return nil }
        let remaining = bits & ~((1 << UInt64(max(value, 0))) - 1)
        return remaining == 0 ? nil : remaining.trailingZeroBitCount
    }

    /// Parses one field: a comma-separated list of `*`, `a`, `a-b`, each optionally `/step`.
    ///
    /// - Throws: ``CronError`` naming `kind` and the offending token.
    init(parsing text: Substring, as kind: Kind) throws {
        var bits: UInt64 = 0
        for element in text.split(separator: ",", omittingEmptySubsequences: false) {
            let (low, high, step) = try Self.parseElement(element, in: text, as: kind)
            for value in stride(from: low, through: high, by: step) { bits |= 1 << UInt64(value) }
        }
        if kind.range.upperBound == 7, bits & (1 << 7) != 0 { bits = bits & ~(1 << 7) | 1 }
        self.bits = bits
        self.isWildcard = text.hasPrefix("*")
    }

    private static func parseElement(
        _ element: Substring, in field: Substring, as kind: Kind
    ) throws -> (low: Int, high: Int, step: Int) {
        guard !element.isEmpty else {
            throw CronError(.invalidValue, "\(kind.name) field: empty list element in \(field)")
        }
        let parts = element.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count <= 2 else {
            throw CronError(.invalidStep, "\(kind.name) field: \(element) has more than one step")
        }
        var step = 1
        if parts.count == 2 {
            guard let parsed = number(parts[1]), parsed > 0 else {
                let reason = number(parts[1]) == 0 ? "is not allowed" : "is not a positive number"
                throw CronError(
                    .invalidStep, "\(kind.name) field: step \(parts[1]) in \(element) \(reason)")
            }
            step = parsed
        }
        let base = parts[0]
        if base == "*" { return (kind.range.lowerBound, kind.range.upperBound, step) }
        let ends = base.split(separator: "-", omittingEmptySubsequences: false)
        guard ends.count <= 2 else {
            throw CronError(.invalidValue, "\(kind.name) field: \(base) is not a value or range")
        }
        let low = try value(ends[0], in: base, as: kind)
        guard ends.count == 2 else {
            // `a/n` runs from `a` to the end of the range, as in cronie.
            return (low, parts.count == 2 ? kind.range.upperBound : low, step)
        }
        let high = try value(ends[1], in: base, as: kind)
        guard low <= high else {
            throw CronError(.reversedRange, "\(kind.name) field: range \(base) is reversed")
        }
        return (low, high, step)
    }

    private static func value(_ token: Substring, in base: Substring, as kind: Kind) throws -> Int {
        if let index = kind.names.firstIndex(of: token.uppercased()) {
            return kind.range.lowerBound + index
        }
        guard let parsed = number(token) else {
            let what = kind.names.isEmpty ? "a number" : "a number or \(kind.name) name"
            let shown = token.isEmpty ? "missing value in \(base)" : "\(token) is not \(what)"
            throw CronError(.invalidValue, "\(kind.name) field: \(shown)")
        }
        guard kind.range.contains(parsed) else {
            let range = "\(kind.range.lowerBound)-\(kind.range.upperBound)"
            throw CronError(.outOfRange, "\(kind.name) field: \(token) is out of range \(range)")
        }
        return parsed
    }

    /// A non-negative decimal number written with ASCII digits only (no sign, no spaces);
    /// too many digits for `Int` reads as `Int.max` so it is reported as out of range.
    private static func number(_ token: Substring) -> Int? {
        guard !token.isEmpty, token.allSatisfy({ $0.isASCII && $0.isNumber }) else { return nil }
        return Int(token) ?? Int.max
    }
}

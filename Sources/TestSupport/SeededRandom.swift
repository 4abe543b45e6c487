/// A deterministic generator (SplitMix64) so a failing property prints a seed that reproduces it.
package struct SeededRandom: RandomNumberGenerator, Sendable {
    private var state: UInt64

    package init(seed: UInt64) { state = seed }

    package mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// True with probability `p`.
    package mutating func chance(_ p: Double) -> Bool {
        Double.random(in: 0..<1, using: &self) < p
    }

    /// `count` random bytes.
    package mutating func bytes(_ count: Int) -> [UInt8] {
        var result = [UInt8]()
        result.reserveCapacity(count + 8)
        while result.count < count {
            withUnsafeBytes(of: next()) { result.append(contentsOf: $0) }
        }
        result.removeLast(result.count - count)
        return result
    }

    /// Text shaped like a `pg_dump` COPY section: rows of numbers and words, compressible
    /// but not trivially so.
    package mutating func dumpLikeText(_ count: Int) -> [UInt8] {
        let words = [
            "alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel", "india",
            "juliet",
            "kilo", "lima", "mike", "november", "oscar", "papa", "quebec", "romeo", "sierra",
            "tango",
        ]
        var result = [UInt8]()
        result.reserveCapacity(count + 200)
        var row = 0
        while result.count < count {
            row += 1
            var line =
                "\(row)\t\(next() % 100_000)\t\(Int64(bitPattern: next() % 2_000_000) - 1_000_000)\t"
            for _ in 0..<(3 + Int(next() % 6)) {
                line += words[Int(next() % UInt64(words.count))] + " "
            }
            line += "\n"
            result.append(contentsOf: line.utf8)
        }
        result.removeLast(result.count - count)
        return result
    }

    /// The seeds property tests run: fixed ones, plus one fresh seed per run.
    package static func seeds(fixed: [UInt64] = [1, 2, 3, 42, 0xDEAD_BEEF]) -> [UInt64] {
        fixed + [UInt64.random(in: 0...UInt64.max)]
    }
}

import Foundation
import RepositoryCore
import Testing

@Suite("Retention policy")
struct RetentionPolicyTests {
    static let seeds: [(String, RetentionPolicy)] = [
        (
            "PostgreSQL",
            RetentionPolicy(
                keepWithinHourly: .init(days: 7), keepWithinDaily: .init(days: 30),
                keepWithinWeekly: .init(days: 84))
        ),
        ("PostgreSQL, counted", RetentionPolicy(keepHourly: 168, keepDaily: 30, keepWeekly: 12)),
        ("Redis", RetentionPolicy(keepWithin: .init(days: 7))),
        ("daily-30", RetentionPolicy(keepWithinDaily: .init(days: 30))),
        ("n8n", RetentionPolicy(keepWithinDaily: .init(days: 90))),
        ("keep all", .keepAll),
    ]

    @Test("the product's seed policies are valid", arguments: seeds)
    func seedPoliciesValidate(_ name: String, _ policy: RetentionPolicy) throws {
        try policy.validate()
    }

    @Test("a policy without any rule is rejected: it would forget everything")
    func rejectsEmptyPolicy() {
        let error = #expect(throws: RepositoryError.self) { try RetentionPolicy().validate() }
        #expect(error?.code == .invalidArgument)
        #expect(error?.message.contains("no rule") == true)
    }

    @Test(
        "a count below 1 is rejected, naming the rule",
        arguments: [
            (RetentionPolicy(keepLast: 0), "keepLast"),
            (RetentionPolicy(keepHourly: -1), "keepHourly"),
            (RetentionPolicy(keepDaily: 0, keepWithin: .init(days: 1)), "keepDaily"),
            (RetentionPolicy(keepWeekly: -5), "keepWeekly"),
            (RetentionPolicy(keepMonthly: 0), "keepMonthly"),
            (RetentionPolicy(keepYearly: 0), "keepYearly"),
        ])
    func rejectsCountsBelowOne(_ policy: RetentionPolicy, _ rule: String) {
        let error = #expect(throws: RepositoryError.self) { try policy.validate() }
        #expect(error?.code == .invalidArgument)
        #expect(
            error?.message.contains("\(rule) must be at least 1") == true, "\(error?.message ?? "")"
        )
        #expect(error?.message.contains("no rule") == false)
    }

    @Test("a zero or negative duration is rejected, naming the rule")
    func rejectsEmptyDurations() {
        let policy = RetentionPolicy(
            keepDaily: 3, keepWithin: RetentionDuration(), keepWithinMonthly: .init(days: -1))
        let error = #expect(throws: RepositoryError.self) { try policy.validate() }
        #expect(error?.message.contains("keepWithin must be longer than zero") == true)
        #expect(error?.message.contains("keepWithinMonthly must not be negative") == true)
    }

    @Test("every problem is reported at once")
    func reportsAllProblems() {
        let policy = RetentionPolicy(keepLast: 0, keepYearly: -2, keepWithinHourly: .init())
        let error = #expect(throws: RepositoryError.self) { try policy.validate() }
        let message = error?.message ?? ""
        #expect(message.contains("keepLast") && message.contains("keepYearly"))
        #expect(message.contains("keepWithinHourly"))
    }

    @Test("keep-all is keepLast unlimited; an unlimited bucket rule is not keep-all")
    func keepAll() throws {
        #expect(RetentionPolicy.keepAll.isKeepAll)
        #expect(RetentionPolicy(keepLast: .unlimited, keepDaily: 3).isKeepAll)
        #expect(!RetentionPolicy(keepDaily: .unlimited).isKeepAll)
        #expect(!RetentionPolicy(keepLast: 1000).isKeepAll)
        try RetentionPolicy.keepAll.validate()
    }

    @Test("round-trips through JSON with counts, \"unlimited\" and restic durations")
    func codable() throws {
        let policy = RetentionPolicy(
            keepLast: .unlimited, keepDaily: 30, keepWithin: .init(days: 7),
            keepWithinWeekly: .init(years: 1, months: 2))
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        let data = try encoder.encode(policy)
        #expect(
            String(decoding: data, as: UTF8.self)
                == #"{"keepDaily":30,"keepLast":"unlimited","keepWithin":"7d","keepWithinWeekly":"1y2m"}"#
        )
        #expect(try JSONDecoder().decode(RetentionPolicy.self, from: data) == policy)
        let seed = try JSONDecoder().decode(
            RetentionPolicy.self,
            from: Data(
                #"{"keepWithinHourly":"7d","keepWithinDaily":"30d","keepWithinWeekly":"84d"}"#.utf8)
        )
        #expect(seed == Self.seeds[0].1)
    }

    @Test("decoding rejects a misspelt rule rather than dropping it")
    func rejectsUnknownKeys() {
        #expect(throws: DecodingError.self) {
            try JSONDecoder().decode(
                RetentionPolicy.self, from: Data(#"{"keepDaily":7,"keepWeakly":4}"#.utf8))
        }
        #expect(throws: DecodingError.self) {
            try JSONDecoder().decode(RetentionPolicy.self, from: Data(#"{"keepDaily":"7d"}"#.utf8))
        }
    }

    @Test("describes the rules that are set")
    func description() {
        #expect(
            Self.seeds[0].1.description
                == "keepWithinHourly 7d, keepWithinDaily 30d, keepWithinWeekly 84d")
        #expect(RetentionPolicy().description == "no rule")
        #expect(RetentionPolicy.keepAll.description == "keepLast unlimited")
    }
}

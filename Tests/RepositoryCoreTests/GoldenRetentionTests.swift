import Foundation
import RepositoryCore
import TestSupport
import Testing

/// Compares `RetentionPlan.make` with real restic. Each file under `Golden/` holds one timeline
/// (one restic group) and one policy: the snapshots restic 0.14.0 kept, in its order and with
/// its reasons, and those it removed. Made by `scripts/generate-retention-golden.sh` only:
/// rerun it and review the diff, never edit the files.
@Suite("Golden: restic forget")
struct GoldenRetentionTests {
    struct GoldenCase: Decodable {
        struct Entry: Decodable {
            var id: String
            var time: String
            var matches: [String]?
        }
        var restic: String
        var timeZone: String
        /// restic's clock when it ran: it takes the latest snapshot from those before it.
        var now: String
        var timeline: String
        var policy: String
        var flags: [String]
        var keep: [Entry]
        var forget: [Entry]
    }

    /// One kept snapshot as the comparison sees it: when, and for which reasons.
    struct Row: Equatable, CustomStringConvertible {
        var time: Date
        var reasons: [String]
        var description: String { "\(rfc3339(time)) \(reasons)" }
    }

    static let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("Golden/retention")

    static let files: [String] =
        ((try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? [])
        .filter { $0.hasSuffix(".json") }.sorted()

    static func load(_ file: String) throws -> GoldenCase {
        try JSONDecoder().decode(
            GoldenCase.self, from: Data(contentsOf: directory.appendingPathComponent(file)))
    }

    @Test("every timeline and every policy has a golden file")
    func goldenFilesPresent() {
        let timelines = ["spring", "autumn", "irregular", "years", "future"]
        let policies = [
            "postgresql-within", "postgresql-count", "redis", "daily-30", "n8n",
            "last3-monthly2-yearly1", "mixed", "calendar",
        ]
        let expected = timelines.flatMap { t in policies.map { "\(t).\($0).json" } }
        #expect(Set(Self.files) == Set(expected))
    }

    @Test(
        "the plan keeps and forgets exactly what restic does, for restic's reasons",
        arguments: files)
    func matchesRestic(_ file: String) throws {
        let golden = try Self.load(file)
        let timeZone = try #require(TimeZone(identifier: golden.timeZone))
        #expect(timeZone == amsterdam)
        let policy = try policy(fromResticFlags: golden.flags)
        try policy.validate()

        let all = golden.keep + golden.forget
        let input = all.map { RetentionCandidate(id: $0.id, time: instant($0.time)) }
        var random = SeededRandom(seed: 2026)
        let plan = RetentionPlan.make(
            snapshots: input.shuffled(using: &random), policy: policy, timeZone: timeZone,
            now: instant(golden.now))

        // Times and reasons, position by position. restic orders snapshots taken in the same
        // second arbitrarily, but reasons depend only on position, so this is exact.
        let expected = golden.keep.map { Row(time: instant($0.time), reasons: $0.matches ?? []) }
        let actual = plan.keep.map {
            Row(time: $0.snapshot.time, reasons: $0.reasons.map(\.description))
        }
        #expect(actual.count == expected.count, "kept count")
        if let index = zip(expected, actual).enumerated().first(where: { $1.0 != $1.1 })?.offset {
            Issue.record("kept #\(index): restic \(expected[index]), ours \(actual[index])")
        }
        #expect(plan.forget.map(\.time) == golden.forget.map { instant($0.time) })

        // Where the time is unique, the very same snapshot must be kept.
        let timeCounts = Dictionary(all.map { (instant($0.time), 1) }, uniquingKeysWith: +)
        func uniquelyTimed(_ id: String, _ time: Date) -> String? {
            timeCounts[time] == 1 ? id : nil
        }
        #expect(
            Set(plan.keptSnapshots.compactMap { uniquelyTimed($0.id, $0.time) })
                == Set(golden.keep.compactMap { uniquelyTimed($0.id, instant($0.time)) }))
    }

    @Test("the future timeline needs restic's clock: without it the plan differs")
    func futureNeedsNow() throws {
        let golden = try Self.load("future.redis.json")
        let input = (golden.keep + golden.forget).map {
            RetentionCandidate(id: $0.id, time: instant($0.time))
        }
        let policy = try policy(fromResticFlags: golden.flags)
        let withoutNow = RetentionPlan.make(snapshots: input, policy: policy, timeZone: amsterdam)
        #expect(withoutNow.keep.count < golden.keep.count)
    }
}

import Foundation
import RepositoryCore
import TestSupport
import Testing

/// A small repository written by format version 1 is committed under `Golden/v1`; every later
/// version must still open it and restore its snapshots bit-identical (FORMAT.md §11).
/// Regenerate only on purpose: `ZENTORIA_REGENERATE_GOLDEN=1 swift test --filter Golden`,
/// then review the diff.
@Suite("Golden repository")
struct GoldenRepositoryTests {
    static let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("Golden/v1").path
    static let password = Array("golden-repository-v1".utf8)

    struct Expected: Codable {
        var component: String
        var size: Int
        var sha256: String
    }

    /// The dumps stored in the golden repository: deterministic, so their hashes are stable.
    static func dumps() -> [(component: String, bytes: [UInt8])] {
        var random = SeededRandom(seed: 2026)
        let base = random.dumpLikeText(400_000)
        var edited = base
        edited.replaceSubrange(
            200_000..<200_020, with: Array("-- edited in place --".utf8.prefix(20)))
        return [
            ("postgresql-main", base), ("postgresql-main", edited),
            ("files-etc", random.bytes(70_000)),
        ]
    }

    @Test("the committed version-1 repository opens, checks clean and restores bit-identical")
    func readsGoldenRepository() async throws {
        if ProcessInfo.processInfo.environment["ZENTORIA_REGENERATE_GOLDEN"] != nil {
            try await Self.regenerate()
        }
        let expected = try JSONDecoder().decode(
            [Expected].self, from: Data(contentsOf: URL(fileURLWithPath: Self.directory + ".json")))
        try await withTemporaryDirectory { root in
            // Work on a copy: opening takes locks, which must not touch the committed files.
            try FileManager.default.copyItem(atPath: Self.directory, toPath: "\(root)/repo")
            let repository = try await Repository.open(
                store: FileSystemBlobStore(root: "\(root)/repo"), password: Self.password,
                logger: TestRepository.logger)
            let (snapshots, unreadable) = try await repository.loadSnapshots()
            #expect(unreadable.isEmpty)
            #expect(snapshots.count == expected.count)
            let (index, _, _) = try await repository.loadIndex()
            var restored: [Expected] = []
            for snapshot in snapshots {
                var bytes: [UInt8] = []
                try await repository.restore(
                    snapshot, index: index, to: { bytes.append(contentsOf: $0) })
                restored.append(
                    Expected(
                        component: snapshot.component, size: bytes.count,
                        sha256: SHA256Hasher.digest(bytes).hex))
            }
            let key = { (e: Expected) in "\(e.component) \(e.size) \(e.sha256)" }
            #expect(restored.map(key).sorted() == expected.map(key).sorted())
            #expect(try await repository.check(reading: .all).isHealthy)
        }
    }

    /// Writes a new golden repository into the source tree.
    static func regenerate() async throws {
        try? FileManager.default.removeItem(atPath: Self.directory)
        let repository = try await Repository.initialize(
            store: FileSystemBlobStore(root: Self.directory), password: Self.password,
            config: TestRepository.smallConfig,
            keyDerivation: .insecureForTestsOnly, hostname: "golden", logger: TestRepository.logger)
        var expected: [Expected] = []
        for dump in Self.dumps() {
            _ = try await repository.backup(
                Blocks(bytes: dump.bytes, blockSize: 65_536),
                request: BackupRequest(
                    agent: "golden-agent", component: dump.component, kind: "stream",
                    hostname: "golden"))
            expected.append(
                Expected(
                    component: dump.component, size: dump.bytes.count,
                    sha256: SHA256Hasher.digest(dump.bytes).hex))
        }
        try? FileManager.default.removeItem(atPath: Self.directory + "/tmp")
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try encoder.encode(expected).write(to: URL(fileURLWithPath: Self.directory + ".json"))
    }
}

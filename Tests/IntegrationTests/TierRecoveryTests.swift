import Foundation
import RepositoryCore
import TestSupport
import Testing

extension Integration {
    /// The disaster-recovery drill with real processes: PostgreSQL and file-tree dumps backed up,
    /// synced to an S3 tier (moto) and an rclone tier, tier 1 and the catalog deleted, then
    /// recovered from each tier in turn and restored bit for bit.
    @Suite("Tiers and recovery")
    struct TierRecoveryTests {
        static let environment = ProcessInfo.processInfo.environment
        static let enabled = Testing.ConditionTrait.enabled(
            if: S3TestServer.isAvailable && environment["ZENTORIA_TEST_PGHOST"] != nil,
            "needs the moto S3 server and PostgreSQL that scripts/test.sh starts")
        static let marker = "ZENTORIA-DR-MARKER-\(UInt32.random(in: 0...UInt32.max))"

        /// A site whose tiers are `minio` (S3) and `offsite` (rclone, a directory in `root`),
        /// then `extraTiers`.
        static func makeSite(
            root: String, s3: S3Configuration, extraTiers: [String] = []
        ) throws -> CoordinatorSite {
            try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
            let rclone = try RcloneTestConfig.writeScratch(in: root)
            return try CoordinatorSite(
                root: root,
                tiers: [
                    try s3.tierYAML(name: "minio", secretFile: "\(root)/s3.secret"),
                    RcloneTestConfig.tierYAML(
                        name: "offsite", remote: "scratch:\(root)/offsite", config: rclone),
                ] + extraTiers)
        }

        static func postgresDump(to path: String) throws {
            let env = [
                "PGHOST": environment["ZENTORIA_TEST_PGHOST"] ?? "",
                "PGPORT": environment["ZENTORIA_TEST_PGPORT"] ?? "", "PGUSER": "postgres",
            ]
            let database = "zt_dr_\(UInt32.random(in: 0...UInt32.max))"
            for sql in [
                ("postgres", "CREATE DATABASE \(database)"),
                (
                    database,
                    "CREATE TABLE notes (id int PRIMARY KEY, body text); INSERT INTO notes "
                        + "SELECT g, '\(marker) ' || md5(g::text) FROM generate_series(1, 20000) g"
                ),
            ] {
                let result = try CommandRunner.run(
                    "/usr/bin/psql", ["-v", "ON_ERROR_STOP=1", "-d", sql.0, "-c", sql.1],
                    environment: env)
                #expect(result.status == 0, "psql: \(result.stderr)")
            }
            let dump = try CommandRunner.run(
                "/usr/bin/pg_dump", ["-Fc", "-Z0", "-f", path, database], environment: env)
            #expect(dump.status == 0, "pg_dump: \(dump.stderr)")
            _ = try CommandRunner.run(
                "/usr/bin/psql", ["-d", "postgres", "-c", "DROP DATABASE \(database)"],
                environment: env)
        }

        @Test(
            "back up, sync to S3 and rclone, lose tier 1 and the catalog, recover from each tier",
            enabled)
        func recoveryDrill() async throws {
            try await withTemporaryDirectory { root in
                let s3 = try await S3TestServer.configuration()
                let site = try Self.makeSite(root: root, s3: s3)
                try site.initialize()

                // Two components: a PostgreSQL dump and a file tree (as a tar stream).
                try Self.postgresDump(to: "\(root)/pg.dump")
                try FileManager.default.createDirectory(
                    atPath: "\(root)/tree/etc", withIntermediateDirectories: true)
                var random = SeededRandom(seed: 8)
                for i in 0..<20 {
                    try Data(random.bytes(30_000) + Array(Self.marker.utf8)).write(
                        to: URL(fileURLWithPath: "\(root)/tree/etc/file\(i).conf"))
                }
                let tar = try CommandRunner.run(
                    "/bin/tar", ["-C", "\(root)/tree", "-cf", "\(root)/tree.tar", "."])
                #expect(tar.status == 0, "\(tar.stderr)")
                var originals: [String: [UInt8]] = [:]
                for (component, file) in [("postgresql-app", "pg.dump"), ("configs", "tree.tar")] {
                    let backup = try site.repo(
                        "backup", ["--agent", "db", "--component", component],
                        input: "\(root)/\(file)")
                    #expect(backup.status == 0, "backup: \(backup.stderr)")
                    let id = backup.stdoutText.trimmingCharacters(in: .whitespacesAndNewlines)
                    originals[id] = Array(
                        try Data(contentsOf: URL(fileURLWithPath: "\(root)/\(file)")))
                }
                #expect(originals.count == 2)

                let sync = try site.run(["sync", "--config", site.config, "--json"])
                #expect(sync.status == 0, "sync: \(sync.stderr)\n\(sync.stdoutText)")
                #expect(sync.stdoutText.contains("\"snapshots_copied\":2"), "\(sync.stdoutText)")
                let again = try site.run(["sync", "--config", site.config])
                #expect(
                    again.status == 0 && again.stdoutText.contains("0 snapshot(s) copied"),
                    "\(again.stdoutText)")

                // Only ciphertext left the host: no object on either tier holds the marker.
                let marker = Array(Self.marker.utf8)
                let s3Store = try S3BlobStore(configuration: s3)
                #expect(try await ObjectScan.objects(in: s3Store, containing: marker).isEmpty)
                #expect(try await ObjectScan.objects(in: s3Store, containing: []).count > 4)
                let offsiteStore = FileSystemBlobStore(root: "\(root)/offsite")
                #expect(try await ObjectScan.objects(in: offsiteStore, containing: marker).isEmpty)

                // A damaged pack on tier 1 is found by check and replaced from a tier.
                let packs = try await FileSystemBlobStore(root: site.repository).list(.data)
                let damagedPath = "\(site.repository)/\(packs[0].name.path)"
                var damaged = try Data(contentsOf: URL(fileURLWithPath: damagedPath))
                damaged[damaged.count / 2] ^= 0x20
                try FileManager.default.removeItem(atPath: damagedPath)
                try damaged.write(to: URL(fileURLWithPath: damagedPath))
                let found = try site.run(["check", "--config", site.config, "--read-data"])
                #expect(found.status != 0, "\(found.stdoutText)")
                #expect(found.stdoutText.contains("damaged"), "\(found.stdoutText)")
                let repaired = try site.run([
                    "check", "--config", site.config, "--read-data", "--repair",
                ])
                #expect(repaired.status == 0, "\(repaired.stdoutText) \(repaired.stderr)")
                #expect(
                    repaired.stdoutText.contains("repaired \(packs[0].name.path) from tier minio"),
                    "\(repaired.stdoutText)")
                #expect(repaired.stdoutText.contains("after repair, local: no problems"))

                let export = try site.run([
                    "key", "export", "--config", site.config, "--output", "\(root)/key.json",
                ])
                #expect(export.status == 0, "\(export.stderr)")

                for tier in ["minio", "offsite"] {
                    try FileManager.default.removeItem(atPath: site.repository)
                    try? FileManager.default.removeItem(atPath: "\(root)/state/catalog.db")
                    let recovered = try site.run([
                        "recover", "--tier", tier, "--config", site.config,
                    ])
                    #expect(recovered.status == 0, "recover from \(tier): \(recovered.stderr)")
                    #expect(
                        recovered.stdoutText.contains("recovered 2 snapshot(s)"),
                        "\(recovered.stdoutText)")
                    for (id, bytes) in originals {
                        let restored = try site.repo(
                            "restore", [id, "--output", "\(root)/restored"])
                        #expect(
                            restored.status == 0, "restore \(id) from \(tier): \(restored.stderr)")
                        #expect(
                            Array(try Data(contentsOf: URL(fileURLWithPath: "\(root)/restored")))
                                == bytes,
                            "snapshot \(id) recovered from \(tier) differs")
                        try FileManager.default.removeItem(atPath: "\(root)/restored")
                    }
                    let jobs = try site.run(["catalog", "rebuild", "--config", site.config])
                    #expect(jobs.status == 0, "\(jobs.stderr)")
                }

                // The off-site tier loses its key objects: the password alone no longer opens it,
                // the exported key envelope does.
                try FileManager.default.removeItem(atPath: "\(root)/offsite/keys")
                try FileManager.default.removeItem(atPath: site.repository)
                let keyless = try site.run([
                    "recover", "--tier", "offsite", "--config", site.config,
                ])
                #expect(keyless.status != 0)
                #expect(keyless.stderr.contains("--key-file"), "\(keyless.stderr)")
                let withKey = try site.run([
                    "recover", "--tier", "offsite", "--config", site.config, "--key-file",
                    "\(root)/key.json",
                ])
                #expect(withKey.status == 0, "\(withKey.stdoutText) \(withKey.stderr)")
                for (id, bytes) in originals {
                    let restored = try site.repo("restore", [id, "--output", "\(root)/restored"])
                    #expect(restored.status == 0, "\(restored.stderr)")
                    #expect(
                        Array(try Data(contentsOf: URL(fileURLWithPath: "\(root)/restored")))
                            == bytes)
                    try FileManager.default.removeItem(atPath: "\(root)/restored")
                }
            }
        }

        @Test(
            "an unreachable tier fails sync with a clear error; the other tiers still sync", enabled
        )
        func brokenTier() async throws {
            try await withTemporaryDirectory { root in
                let s3 = try await S3TestServer.configuration()
                let site = try Self.makeSite(
                    root: root, s3: s3,
                    extraTiers: [
                        RcloneTestConfig.tierYAML(
                            name: "broken", remote: "nosuchremote:backups",
                            config: try RcloneTestConfig.writeScratch(in: root))
                    ])
                try site.initialize()
                var random = SeededRandom(seed: 2)
                let dump = "\(root)/dump"
                try Data(random.bytes(200_000)).write(to: URL(fileURLWithPath: dump))
                #expect(
                    try site.repo("backup", ["--agent", "a", "--component", "c"], input: dump)
                        .status
                        == 0)

                let sync = try site.run(["sync", "--config", site.config])
                #expect(sync.status != 0)
                #expect(sync.stderr.contains("broken"), "\(sync.stderr)")
                #expect(sync.stdoutText.contains("broken: FAILED"), "\(sync.stdoutText)")
                #expect(sync.stdoutText.contains("nosuchremote"), "\(sync.stdoutText)")
                #expect(
                    sync.stdoutText.contains("minio: 1 snapshot(s) copied"), "\(sync.stdoutText)")
                #expect(
                    sync.stdoutText.contains("offsite: 1 snapshot(s) copied"), "\(sync.stdoutText)")

                var wrong = s3
                wrong.bucket = "missing-bucket-\(UInt32.random(in: 0...UInt32.max))"
                let missing = try Self.makeSite(root: "\(root)/other", s3: wrong)
                try missing.initialize()
                let failed = try missing.run([
                    "sync", "--config", missing.config, "--tier", "minio",
                ])
                #expect(failed.status != 0)
                #expect(failed.stdoutText.contains("does not exist"), "\(failed.stdoutText)")
                let unknown = try missing.run([
                    "sync", "--config", missing.config, "--tier", "nope",
                ])
                #expect(
                    unknown.status != 0 && unknown.stderr.contains("no tier named 'nope'"),
                    "\(unknown.stderr)")
            }
        }
    }
}

import Foundation
import TestSupport
import Testing

extension Integration {
    /// A real `pg_dump` of a real PostgreSQL (started by scripts/test.sh) through the offline CLI.
    @Suite("PostgreSQL dumps")
    struct PostgreSQLDumpTests {
        static let environment = ProcessInfo.processInfo.environment
        static let isAvailable = environment["ZENTORIA_TEST_PGHOST"] != nil

        static func postgres(
            _ tool: String, _ arguments: [String], input: String? = nil
        ) throws -> CommandResult {
            let result = try CommandRunner.run(
                "/usr/bin/\(tool)", arguments, input: input,
                environment: [
                    "PGHOST": environment["ZENTORIA_TEST_PGHOST"] ?? "",
                    "PGPORT": environment["ZENTORIA_TEST_PGPORT"] ?? "",
                    "PGUSER": "postgres",
                ])
            #expect(result.status == 0, "\(tool) \(arguments): \(result.stderr)")
            return result
        }

        static func fingerprint(_ database: String) throws -> String {
            try postgres(
                "psql",
                [
                    "-At", "-d", database, "-c",
                    "SELECT count(*), sum(length(note)), md5(string_agg(id::text || note, ',' ORDER BY id)) FROM items",
                ]
            ).stdoutText
        }

        @Test(
            "pg_dump -Fc -Z0 backs up and restores with pg_restore to identical rows",
            .enabled(if: isAvailable, "needs the PostgreSQL that scripts/test.sh starts"))
        func dumpAndRestore() async throws {
            try await withTemporaryDirectory { root in
                let source = "zt_src_\(UInt32.random(in: 0...UInt32.max))"
                let target = source + "_restored"
                _ = try Self.postgres("createdb", [source])
                defer {
                    _ = try? Self.postgres("dropdb", ["--if-exists", source])
                    _ = try? Self.postgres("dropdb", ["--if-exists", target])
                }
                _ = try Self.postgres(
                    "psql",
                    [
                        "-q", "-d", source, "-c",
                        """
                        CREATE TABLE items (id bigint PRIMARY KEY, note text NOT NULL);
                        INSERT INTO items SELECT g, md5(g::text) || repeat(' row ', g % 7) FROM generate_series(1, 50000) g;
                        """,
                    ])
                let dumpPath = "\(root)/db.dump"
                let dump = try Self.postgres("pg_dump", ["-Fc", "-Z0", "-d", source])
                _ = FileManager.default.createFile(atPath: dumpPath, contents: Data(dump.stdout))
                #expect(dump.stdout.starts(with: Array("PGDMP".utf8)))

                let binary = CommandRunner.product("zentoria-coordinator")
                _ = FileManager.default.createFile(
                    atPath: "\(root)/pw", contents: Data("pw\n".utf8))
                let env = ["ZENTORIA_PASSWORD_FILE": "\(root)/pw"]
                #expect(
                    try CommandRunner.run(
                        binary,
                        ["repo", "init", "--repo", "\(root)/repo", "--insecure-kdf-for-tests"],
                        environment: env
                    ).status == 0)
                let backup = try CommandRunner.run(
                    binary,
                    [
                        "repo", "backup", "--repo", "\(root)/repo", "--agent", "db1", "--component",
                        source, "--kind", "postgresql",
                    ],
                    input: dumpPath, environment: env)
                #expect(backup.status == 0, "\(backup.stderr)")
                let restoredPath = "\(root)/restored.dump"
                let restore = try CommandRunner.run(
                    binary,
                    [
                        "repo", "restore", "--repo", "\(root)/repo", "latest", "--component",
                        source,
                        "--output", restoredPath,
                    ],
                    environment: env)
                #expect(restore.status == 0, "\(restore.stderr)")
                _ = try Self.postgres("createdb", [target])
                _ = try Self.postgres("pg_restore", ["-d", target, restoredPath])
                #expect(try Self.fingerprint(target) == (try Self.fingerprint(source)))
            }
        }
    }
}

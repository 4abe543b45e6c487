import Foundation
import TestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

extension Integration {
    /// Coordinator and agents as real processes over loopback mutual TLS.
    @Suite("Coordinator and agents", .serialized)
    struct ClusterTests {
        static let postgres = PostgreSQLDumpTests.isAvailable

        static func json(_ result: CommandResult) throws -> [String: Any] {
            try #require(
                try JSONSerialization.jsonObject(with: Data(result.stdout)) as? [String: Any],
                "\(result.stdoutText) \(result.stderr)")
        }

        static func postgresComponent(_ name: String, database: String) -> String {
            let env = ProcessInfo.processInfo.environment
            return """
                  - name: \(name)
                    kind: postgresql
                    database: \(database)
                    host: \(env["ZENTORIA_TEST_PGHOST"] ?? "")
                    port: \(env["ZENTORIA_TEST_PGPORT"] ?? "5432")
                    user: postgres
                """
        }

        @Test(
            "two agents back up PostgreSQL and a file tree; both restore bit-identical; neither reaches the other's data",
            .enabled(if: postgres, "needs the PostgreSQL that scripts/test.sh starts"))
        func endToEnd() async throws {
            let cluster = try Cluster()
            defer { cluster.shutdown() }
            let database = "zt_e2e_\(UInt32.random(in: 0...UInt32.max))"
            _ = try PostgreSQLDumpTests.postgres("createdb", [database])
            defer { _ = try? PostgreSQLDumpTests.postgres("dropdb", ["--if-exists", database]) }
            defer {
                _ = try? PostgreSQLDumpTests.postgres(
                    "dropdb", ["--if-exists", database + "_restored"])
            }
            _ = try PostgreSQLDumpTests.postgres(
                "psql",
                [
                    "-q", "-d", database, "-c",
                    """
                    CREATE TABLE items (id bigint PRIMARY KEY, note text NOT NULL);
                    INSERT INTO items SELECT g, md5(g::text) FROM generate_series(1, 20000) g;
                    """,
                ])
            let tree = "\(cluster.root)/tree"
            try FileManager.default.createDirectory(
                atPath: "\(tree)/sub/deeper", withIntermediateDirectories: true)
            _ = FileManager.default.createFile(
                atPath: "\(tree)/a.conf", contents: Data("alpha\n".utf8),
                attributes: [.posixPermissions: 0o640])
            _ = FileManager.default.createFile(
                atPath: "\(tree)/sub/deeper/b.bin",
                contents: Data((0..<100_000).map { UInt8($0 % 251) }))
            try FileManager.default.createSymbolicLink(
                atPath: "\(tree)/link", withDestinationPath: "a.conf")

            try cluster.startCoordinator()
            try cluster.enroll("db1")
            try cluster.enroll("web1")
            try cluster.startAgent(
                "db1", components: Self.postgresComponent("pg", database: database))
            try cluster.startAgent(
                "web1", components: "  - name: etc\n    kind: files\n    path: \(tree)")

            let pgBackup = try cluster.admin(["backup", "db1/pg", "--wait", "--json"])
            #expect(
                pgBackup.status == 0,
                "\(pgBackup.stdoutText) \(pgBackup.stderr) \(cluster.log("agent-db1.log"))")
            let pgSnapshot = try #require(try Self.json(pgBackup)["snapshot_id"] as? String)
            let filesBackup = try cluster.admin(["backup", "web1/etc", "--wait", "--json"])
            #expect(
                filesBackup.status == 0,
                "\(filesBackup.stdoutText) \(filesBackup.stderr) \(cluster.log("agent-web1.log"))")
            let filesSnapshot = try #require(try Self.json(filesBackup)["snapshot_id"] as? String)

            let list = try cluster.admin(["snapshots", "--json"])
            let snapshots = try #require(
                try JSONSerialization.jsonObject(with: Data(list.stdout)) as? [[String: Any]])
            #expect(
                Set(snapshots.compactMap { $0["id"] as? String }) == [pgSnapshot, filesSnapshot])

            // Restore PostgreSQL into a new database through its agent.
            let restorePG = try cluster.admin([
                "restore", pgSnapshot, "--to", "db1/pg", "--target", database + "_restored",
            ])
            #expect(
                restorePG.status == 0,
                "\(restorePG.stdoutText) \(restorePG.stderr) \(cluster.log("agent-db1.log"))")
            #expect(
                restorePG.stdoutText.contains(
                    "self-check: database \(database)_restored: 1 table(s), 20000 row(s)"),
                "\(restorePG.stdoutText)")
            #expect(
                try PostgreSQLDumpTests.fingerprint(database + "_restored")
                    == (try PostgreSQLDumpTests.fingerprint(database)))
            // Restoring over the non-empty original is refused without --overwrite.
            let refused = try cluster.admin(["restore", pgSnapshot, "--to", "db1/pg"])
            #expect(refused.status == 1)
            #expect(refused.stdoutText.contains("not empty"), "\(refused.stdoutText)")

            // Restore the file tree into a new directory through its agent.
            let restored = "\(cluster.root)/restored"
            let restoreFiles = try cluster.admin([
                "restore", filesSnapshot, "--to", "web1/etc", "--target", restored,
            ])
            #expect(
                restoreFiles.status == 0,
                "\(restoreFiles.stdoutText) \(restoreFiles.stderr) \(cluster.log("agent-web1.log"))"
            )
            #expect(
                restoreFiles.stdoutText.contains("self-check: \(restored): "),
                "\(restoreFiles.stdoutText)")
            #expect(
                FileManager.default.contents(atPath: "\(restored)/sub/deeper/b.bin")
                    == FileManager.default.contents(atPath: "\(tree)/sub/deeper/b.bin"))
            #expect(
                try FileManager.default.destinationOfSymbolicLink(atPath: "\(restored)/link")
                    == "a.conf")
            let mode =
                try FileManager.default.attributesOfItem(atPath: "\(restored)/a.conf")[
                    .posixPermissions] as? Int
            #expect(mode == 0o640)

            // Neither agent gets the other's data.
            let cross = try cluster.admin(["restore", filesSnapshot, "--to", "db1/pg"])
            #expect(cross.status == 1)
            #expect(cross.stderr.contains("belongs to agent web1"), "\(cross.stderr)")

            // --output streams through the coordinator, bit-identical to what pg_dump made.
            let outputPath = "\(cluster.root)/out.dump"
            #expect(try cluster.admin(["restore", pgSnapshot, "--output", outputPath]).status == 0)
            #expect(
                FileManager.default.contents(atPath: outputPath)?.starts(with: Array("PGDMP".utf8))
                    == true)
        }

        @Test("a failing dump fails the job with its cause and stores nothing")
        func failingDump() async throws {
            let cluster = try Cluster()
            defer { cluster.shutdown() }
            try cluster.startCoordinator()
            try cluster.enroll("h1")
            try cluster.startAgent(
                "h1",
                components: """
                      - name: broken
                        kind: command
                        dump: ["sh", "-c", "echo partial; echo 'no such database: shop' >&2; exit 3"]
                      - name: silent
                        kind: command
                        dump: ["true"]
                    """)
            let broken = try cluster.admin(["backup", "h1/broken", "--wait"])
            #expect(broken.status == 1)
            #expect(broken.stdoutText.contains("no such database: shop"), "\(broken.stdoutText)")
            let silent = try cluster.admin(["backup", "h1/silent", "--wait"])
            #expect(silent.status == 1)
            #expect(silent.stdoutText.contains("produced no output"), "\(silent.stdoutText)")
            let list = try cluster.admin(["snapshots", "--json"])
            #expect(list.stdoutText.trimmingCharacters(in: .whitespacesAndNewlines) == "[]")
        }

        @Test(
            "killing the agent mid-upload fails the job and leaves no snapshot; a coordinator restart is survived"
        )
        func killAndRestart() async throws {
            let cluster = try Cluster()
            defer { cluster.shutdown() }
            try cluster.startCoordinator()
            try cluster.enroll("h1")
            let slow = """
                  - name: slow
                    kind: command
                    dump: ["sh", "-c", "head -c 20000000 /dev/urandom; sleep 30"]
                  - name: quick
                    kind: command
                    dump: ["sh", "-c", "seq 1 200000"]
                """
            try cluster.startAgent("h1", components: slow)
            let started = try cluster.admin(["backup", "h1/slow", "--json"])
            #expect(started.status == 0, "\(started.stderr)")
            try cluster.waitUntil("the upload is under way") {
                guard let status = try? cluster.admin(["status", "--json"]),
                    let object = try? Self.json(status)
                else { return false }
                return object["jobs_running"] as? Int == 1
            }
            usleep(1_500_000)
            cluster.stopAgent("h1", signal: SIGKILL)
            try cluster.waitUntil("the job is over") {
                guard let status = try? cluster.admin(["status", "--json"]),
                    let object = try? Self.json(status)
                else { return false }
                return object["jobs_running"] as? Int == 0
            }
            #expect(
                try cluster.admin(["snapshots", "--json"]).stdoutText.trimmingCharacters(
                    in: .whitespacesAndNewlines) == "[]")

            try cluster.startAgent("h1", components: slow)
            cluster.stopCoordinator()
            try cluster.startCoordinator(initialize: false)
            try cluster.waitUntil("the agent reconnects by itself", seconds: 60) {
                cluster.isConnected("h1")
            }
            let quick = try cluster.admin(["backup", "h1/quick", "--wait"])
            #expect(quick.status == 0, "\(quick.stdoutText) \(cluster.log("agent-h1.log"))")
            let check = try CommandRunner.run(
                Cluster.coordinatorBinary,
                ["repo", "check", "--read-data", "--repo", cluster.repository],
                environment: ["ZENTORIA_PASSWORD_FILE": "\(cluster.root)/password"])
            #expect(check.status == 0, "\(check.stdoutText)")
        }

        @Test("a revoked agent is cut off at once and cannot come back")
        func revocation() async throws {
            let cluster = try Cluster()
            defer { cluster.shutdown() }
            try cluster.startCoordinator()
            try cluster.enroll("h1")
            try cluster.startAgent(
                "h1",
                components:
                    "  - name: quick\n    kind: command\n    dump: [\"seq\", \"1\", \"1000\"]")
            let revoke = try cluster.admin(["agents", "revoke", "h1"])
            #expect(revoke.status == 0)
            #expect(revoke.stdoutText.contains("closed its session"))
            usleep(2_000_000)
            #expect(!cluster.isConnected("h1"), "the revoked agent must not reconnect")
            let backup = try cluster.admin(["backup", "h1/quick", "--wait"])
            #expect(backup.status == 1)
            let agents = try cluster.admin(["agents"])
            #expect(agents.stdoutText.contains("revoked"))
            // A token is single-use: enrolling twice with one token fails.
            let token = try cluster.admin(["token", "create", "--agent", "h2"]).stdoutText
                .trimmingCharacters(in: .whitespacesAndNewlines)
            let first = try cluster.runEnroll(
                token: token, stateDirectory: "\(cluster.root)/agents/h2")
            #expect(first.status == 0, "\(first.stderr)")
            let second = try cluster.runEnroll(
                token: token, stateDirectory: "\(cluster.root)/agents/h2b")
            #expect(second.status == 1)
            // A wrong fingerprint is refused before any token is sent.
            let pinned = try cluster.runEnroll(
                token: "x", stateDirectory: "\(cluster.root)/agents/h3",
                fingerprint: String(repeating: "ab", count: 32))
            #expect(pinned.status == 1)
        }

        @Test("garbage on the agent port is dropped without harming live sessions")
        func garbage() async throws {
            let cluster = try Cluster()
            defer { cluster.shutdown() }
            try cluster.startCoordinator()
            let state = try cluster.enroll("h1")
            try cluster.startAgent(
                "h1",
                components:
                    "  - name: quick\n    kind: command\n    dump: [\"seq\", \"1\", \"50000\"]")
            let script = """
                import os, socket, ssl, sys
                state, port = sys.argv[1], int(sys.argv[2])
                for attempt in range(3):
                    ctx = ssl.create_default_context(cafile=state + "/ca.pem")
                    ctx.check_hostname = False
                    ctx.load_cert_chain(state + "/agent.pem", state + "/agent-key.pem")
                    ctx.set_alpn_protocols(["h2"])
                    s = ctx.wrap_socket(socket.create_connection(("127.0.0.1", port)), server_hostname="localhost")
                    try:
                        s.sendall(b"PRI * HTTP/2.0\\r\\n\\r\\nSM\\r\\n\\r\\n" + os.urandom(200000))
                        s.recv(1024)
                    except OSError:
                        pass
                    s.close()
                print("sent")
                """
            let result = try CommandRunner.run(
                "/usr/bin/python3", ["-c", script, state, "\(cluster.agentPort)"])
            #expect(result.stdoutText.contains("sent"), "\(result.stderr)")
            #expect(cluster.isConnected("h1"), "the live session survived")
            let backup = try cluster.admin(["backup", "h1/quick", "--wait"])
            #expect(backup.status == 0, "\(backup.stdoutText) \(cluster.log("coordinator.log"))")
        }

        @Test(
            "pg_dump of a missing database fails the job with PostgreSQL's message",
            .enabled(if: postgres, "needs the PostgreSQL that scripts/test.sh starts"))
        func failingPgDump() async throws {
            let cluster = try Cluster()
            defer { cluster.shutdown() }
            try cluster.startCoordinator()
            try cluster.enroll("db1")
            try cluster.startAgent(
                "db1", components: Self.postgresComponent("pg", database: "zt_does_not_exist"))
            let backup = try cluster.admin(["backup", "db1/pg", "--wait"])
            #expect(backup.status == 1)
            #expect(
                backup.stdoutText.contains("pg_dump exited with status 1"), "\(backup.stdoutText)")
            #expect(backup.stdoutText.contains("zt_does_not_exist"), "\(backup.stdoutText)")
        }

        @Test(
            "database \"*\" becomes one component per database, and globals carry the roles",
            .enabled(if: postgres, "needs the PostgreSQL that scripts/test.sh starts"))
        func wholeCluster() async throws {
            let cluster = try Cluster()
            defer { cluster.shutdown() }
            let database = "zt_cluster_\(UInt32.random(in: 0...UInt32.max))"
            _ = try PostgreSQLDumpTests.postgres("createdb", [database])
            defer { _ = try? PostgreSQLDumpTests.postgres("dropdb", ["--if-exists", database]) }
            let env = ProcessInfo.processInfo.environment
            try cluster.startCoordinator()
            try cluster.enroll("db1")
            let roles = """

                  - name: roles
                    kind: postgresql-globals
                    host: \(env["ZENTORIA_TEST_PGHOST"] ?? "")
                    port: \(env["ZENTORIA_TEST_PGPORT"] ?? "5432")
                    user: postgres
                """
            try cluster.startAgent(
                "db1", components: Self.postgresComponent("pg", database: "\"*\"") + roles)
            let agents = try cluster.admin(["agents", "--json"])
            #expect(agents.stdoutText.contains("\"pg-\(database)\""), "\(agents.stdoutText)")
            #expect(agents.stdoutText.contains("\"pg-postgres\""))
            #expect(try cluster.admin(["backup", "db1/pg-\(database)", "--wait"]).status == 0)
            let globals = try cluster.admin(["backup", "db1/roles", "--wait", "--json"])
            #expect(globals.status == 0, "\(globals.stdoutText) \(cluster.log("agent-db1.log"))")
            let out = "\(cluster.root)/globals.sql"
            #expect(
                try cluster.admin(["restore", "latest", "--component", "roles", "--output", out])
                    .status
                    == 0)
            let text = (try? String(contentsOfFile: out, encoding: .utf8)) ?? ""
            #expect(text.contains("CREATE ROLE postgres"), "\(text.prefix(500))")
        }
    }
}

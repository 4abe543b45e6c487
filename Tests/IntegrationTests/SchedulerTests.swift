import Foundation
import TestSupport
import Testing

extension Integration {
    @Suite("Scheduled jobs through the real coordinator")
    struct SchedulerTests {
        static func jobs(_ cluster: Cluster, _ extra: [String] = []) throws -> [[String: Any]] {
            let result = try CommandRunner.run(
                Cluster.coordinatorBinary,
                ["jobs", "--json", "--config", cluster.configPath] + extra)
            guard result.status == 0 else { throw ClusterError("jobs failed: \(result.stderr)") }
            return try JSONSerialization.jsonObject(with: Data(result.stdout)) as? [[String: Any]]
                ?? []
        }

        @Test(
            "a component backs up on its cron schedule, retention forgets what its policy drops, prune runs, all recorded as jobs"
        )
        func scheduledBackup() async throws {
            let cluster = try Cluster(
                extraConfig: """
                    time_zone: UTC
                    components:
                      notes:
                        schedule: "* * * * *"
                        random_delay: 0s
                        timeout: 5min
                        retention: {keep-last: 1}
                    prune:
                      schedule: "* * * * *"
                    """)
            defer { cluster.shutdown() }
            let tree = "\(cluster.root)/notes"
            try FileManager.default.createDirectory(atPath: tree, withIntermediateDirectories: true)
            try Data("first\n".utf8).write(to: URL(fileURLWithPath: "\(tree)/a.txt"))
            try cluster.startCoordinator()
            try cluster.enroll("files")
            try cluster.startAgent(
                "files", components: "  - name: notes\n    kind: files\n    path: \(tree)\n")
            try cluster.waitUntil("the agent connects") { cluster.isConnected("files") }
            let manual = try cluster.admin(["backup", "files/notes", "--wait"])
            #expect(manual.status == 0, "\(manual.stdoutText)\(manual.stderr)")

            try cluster.waitUntil("a scheduled backup succeeds", seconds: 150) {
                let jobs = (try? Self.jobs(cluster)) ?? []
                return jobs.contains {
                    $0["kind"] as? String == "backup" && $0["trigger"] as? String == "schedule"
                        && $0["state"] as? String == "succeeded"
                }
                    && jobs.contains {
                        $0["kind"] as? String == "forget" && $0["state"] as? String == "succeeded"
                    }
            }
            // keep-last 1: the manual snapshot was forgotten after the scheduled one was stored.
            let snapshots = try cluster.admin(["snapshots", "--json"])
            let list =
                try JSONSerialization.jsonObject(with: Data(snapshots.stdout)) as? [Any] ?? []
            #expect(list.count == 1, "\(snapshots.stdoutText)")
            let plan = try CommandRunner.run(
                Cluster.coordinatorBinary, ["forget", "--dry-run", "--config", cluster.configPath])
            #expect(plan.status == 0, "\(plan.stderr)")
            #expect(
                plan.stdoutText.contains("files/notes (files): keep 1, forget 0"),
                "\(plan.stdoutText)")
            #expect(plan.stdoutText.contains("last snapshot"))

            try cluster.waitUntil("a scheduled prune ran", seconds: 90) {
                ((try? Self.jobs(cluster)) ?? []).contains {
                    $0["kind"] as? String == "prune" && $0["state"] as? String == "succeeded"
                }
            }
            #expect(try Self.jobs(cluster, ["--failed"]).isEmpty)
            let manualJobs = try Self.jobs(cluster).filter { $0["trigger"] as? String == "manual" }
            #expect(manualJobs.count == 1 && manualJobs.first?["state"] as? String == "succeeded")
            let table = try CommandRunner.run(
                Cluster.coordinatorBinary,
                ["jobs", "--config", cluster.configPath, "--since", "1h"])
            #expect(table.stdoutText.contains("files/notes"), "\(table.stdoutText)")

            // The catalog is only history: remove it, rebuild it from the repository.
            cluster.stopCoordinator()
            try FileManager.default.removeItem(atPath: "\(cluster.root)/state/catalog.db")
            let rebuilt = try CommandRunner.run(
                Cluster.coordinatorBinary, ["catalog", "rebuild", "--config", cluster.configPath])
            #expect(rebuilt.status == 0, "\(rebuilt.stderr)")
            #expect(
                rebuilt.stdoutText.contains("1 snapshot(s) of 1 component(s)"),
                "\(rebuilt.stdoutText)")
            #expect(try Self.jobs(cluster).isEmpty, "job history is not in the repository")
        }

        @Test(
            "a scheduled job that passes its timeout is cancelled, fails with that reason and stores nothing"
        )
        func timeout() async throws {
            let cluster = try Cluster(
                extraConfig: """
                    components:
                      endless:
                        schedule: "* * * * *"
                        random_delay: 0s
                        timeout: 5s
                        retries: 0
                    """)
            defer { cluster.shutdown() }
            try cluster.startCoordinator()
            try cluster.enroll("h1")
            try cluster.startAgent(
                "h1",
                components: """
                      - name: endless
                        kind: command
                        dump: ["sh", "-c", "while true; do head -c 2000000 /dev/urandom; sleep 0.2; done"]
                    """)
            try cluster.waitUntil("the scheduled job times out", seconds: 120) {
                ((try? Self.jobs(cluster, ["--failed"])) ?? []).contains {
                    ($0["error"] as? String)?.hasPrefix("timed out after 5") == true
                }
            }
            let snapshots = try cluster.admin(["snapshots", "--json"])
            #expect(snapshots.stdoutText.trimmingCharacters(in: .whitespacesAndNewlines) == "[]")
            let status = try cluster.admin(["status"])
            #expect(status.status == 0)
        }

        @Test(
            "overrides for an agent that is not enrolled or a component it did not announce are refused"
        )
        func refusesUnknownComponents() async throws {
            let cluster = try Cluster()
            defer { cluster.shutdown() }
            let tree = "\(cluster.root)/notes"
            try FileManager.default.createDirectory(atPath: tree, withIntermediateDirectories: true)
            try cluster.startCoordinator()
            try cluster.enroll("files")
            try cluster.startAgent(
                "files", components: "  - name: notes\n    kind: files\n    path: \(tree)\n")
            try cluster.waitUntil("the agent connects") { cluster.isConnected("files") }
            cluster.stopCoordinator()
            let original = try String(contentsOfFile: cluster.configPath, encoding: .utf8)
            try
                (original
                + "components:\n  files/notez:\n    retries: 1\n  ghost/db:\n    retries: 1\n")
                .write(toFile: cluster.configPath, atomically: true, encoding: .utf8)
            let serve = try CommandRunner.run(
                Cluster.coordinatorBinary, ["serve", "--config", cluster.configPath])
            #expect(serve.status == 1)
            #expect(
                serve.stderr.contains(
                    "coordinator.yaml:7: 'components.files/notez': agent 'files' has no component 'notez' (it announced: notes)"
                ), "\(serve.stderr)")
            #expect(
                serve.stderr.contains(
                    "coordinator.yaml:9: 'components.ghost/db': agent 'ghost' is not enrolled"),
                "\(serve.stderr)")
            // Fixed, it starts.
            try (original + "components:\n  files/notes:\n    retries: 1\n")
                .write(toFile: cluster.configPath, atomically: true, encoding: .utf8)
            try cluster.startCoordinator(initialize: false)
        }

        @Test("a coordinator configuration with a bad schedule is refused before anything starts")
        func refusesBadConfiguration() async throws {
            let cluster = try Cluster(
                extraConfig: """
                    kinds:
                      files:
                        schedule: "0 25 * * *"
                    """)
            defer { cluster.shutdown() }
            let result = try CommandRunner.run(
                Cluster.coordinatorBinary,
                ["init", "--config", cluster.configPath, "--insecure-kdf-for-tests"])
            #expect(result.status == 1)
            #expect(result.stderr.contains("coordinator.yaml:8:"), "\(result.stderr)")
            #expect(
                result.stderr.contains("hour field: 25 is out of range 0-23"), "\(result.stderr)")
            #expect(
                !FileManager.default.fileExists(atPath: "\(cluster.root)/state"),
                "nothing was set up")
        }
    }
}

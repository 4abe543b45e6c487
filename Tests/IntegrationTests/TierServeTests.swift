import Foundation
import RepositoryCore
import TestSupport
import Testing

extension Integration {
    /// Tiers seen through a running coordinator: a broken tier is reported but backups still
    /// land; `snapshots` shows which tiers hold what; restores come from the nearest tier that
    /// holds the snapshot, or a named one, and survive a damaged chunk on tier 1.
    @Suite("Tiers through serve")
    struct TierServeTests {
        @Test(
            "status names a broken tier, backups land, restores read other tiers",
            .enabled(
                if: S3TestServer.isAvailable, "needs the moto S3 server scripts/test.sh starts"))
        func tiersThroughServe() async throws {
            let s3 = try await S3TestServer.configuration()
            let root = FileManager.default.temporaryDirectory.appendingPathComponent(
                "zentoria-tiers-\(UUID().uuidString)"
            ).path
            try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(atPath: root) }
            let minio = try s3.tierYAML(name: "minio", secretFile: "\(root)/s3.secret")
            let broken = RcloneTestConfig.tierYAML(
                name: "broken", remote: "nosuchremote:backups",
                config: try RcloneTestConfig.writeScratch(in: root))
            let cluster = try Cluster(
                extraConfig: """
                    sync:
                      after_backup: false
                    kinds:
                      command:
                        retention: {keep-last: 10}
                    tiers:
                    \(minio)
                    \(broken)
                    """)
            defer { cluster.shutdown() }
            try cluster.startCoordinator()
            try cluster.enroll("h1")
            let data = "\(root)/data"
            var random = SeededRandom(seed: 31)
            try Data(random.bytes(3_000_000)).write(to: URL(fileURLWithPath: data))
            try cluster.startAgent(
                "h1",
                components: """
                      - name: blob
                        kind: command
                        dump: ["cat", "\(data)"]
                        restore: ["sh", "-c", "cat > \(root)/restored-by-agent"]
                    """)

            // The broken tier is reported, and backups still land on tier 1.
            try cluster.waitUntil("the start-up check reported the broken tier") {
                (try? cluster.admin(["status"]).stdoutText.contains("Tier broken")) == true
                    && (try? cluster.admin(["status"]).stdoutText.contains("UNAVAILABLE")) == true
            }
            let status = try cluster.admin(["status"])
            #expect(status.stdoutText.contains("nosuchremote"), "\(status.stdoutText)")
            #expect(status.stdoutText.contains("Tier minio"), "\(status.stdoutText)")
            let first = try cluster.admin(["backup", "h1/blob", "--wait", "--json"])
            #expect(first.status == 0, "\(first.stdoutText) \(first.stderr)")
            try Data(random.bytes(1_000_000)).write(to: URL(fileURLWithPath: data))
            let second = try cluster.admin(["backup", "h1/blob", "--wait", "--json"])
            #expect(second.status == 0, "\(second.stdoutText) \(second.stderr)")
            let secondBytes = try Data(contentsOf: URL(fileURLWithPath: data))
            let ids = try snapshotIDs(cluster)
            #expect(ids.count == 2)

            let sync = try CommandRunner.run(
                Cluster.coordinatorBinary,
                ["sync", "--config", cluster.configPath, "--tier", "minio"])
            #expect(sync.status == 0, "\(sync.stdoutText) \(sync.stderr)")
            let listed = try cluster.admin(["snapshots"])
            #expect(listed.stdoutText.contains("local,minio"), "\(listed.stdoutText)")

            // Forget the older snapshot on tier 1: it still restores, from minio.
            let forgotten = try CommandRunner.run(
                Cluster.coordinatorBinary,
                ["repo", "forget", "--repo", cluster.repository, ids[0]],
                environment: ["ZENTORIA_PASSWORD_FILE": "\(cluster.root)/password"])
            #expect(forgotten.status == 0, "\(forgotten.stderr)")
            let afterForget = try cluster.admin(["snapshots", "--json"]).stdoutText
            #expect(afterForget.contains("\"minio\""), "\(afterForget)")
            let fromMinio = "\(root)/from-minio"
            let read = try cluster.admin(["restore", ids[0], "--output", fromMinio])
            #expect(
                read.status == 0,
                "restore from minio: \(read.stdoutText) \(read.stderr) \(cluster.log("coordinator.log").suffix(3000))"
            )
            #expect(FileManager.default.contents(atPath: fromMinio)?.count == 3_000_000)
            let local = try cluster.admin([
                "restore", ids[0], "--output", fromMinio, "--tier", "local",
            ])
            #expect(
                local.status != 0 && local.stderr.contains("does not exist")
                    || local.stderr.contains("no snapshot"), "\(local.stderr)")

            // Damage every pack on tier 1: the newer snapshot still restores through its agent,
            // chunk by chunk from minio.
            let packs = FileSystemBlobStore(root: cluster.repository)
            for info in try await packs.list(.data) {
                let path = "\(cluster.repository)/\(info.name.path)"
                var bytes = try Data(contentsOf: URL(fileURLWithPath: path))
                bytes[bytes.count / 2] ^= 0xFF
                try FileManager.default.removeItem(atPath: path)
                try bytes.write(to: URL(fileURLWithPath: path))
            }
            let restore = try cluster.admin(["restore", ids[1], "--to", "h1/blob"])
            #expect(restore.status == 0, "\(restore.stdoutText) \(restore.stderr)")
            #expect(
                FileManager.default.contents(atPath: "\(root)/restored-by-agent") == secondBytes)
            #expect(cluster.log("coordinator.log").contains("chunk read from another tier"))
            let named = try cluster.admin([
                "restore", ids[1], "--output", "\(root)/named", "--tier", "minio",
            ])
            #expect(named.status == 0, "\(named.stderr)")
            #expect(FileManager.default.contents(atPath: "\(root)/named") == secondBytes)
        }

        @Test(
            "tier 1 on an S3 bucket: init, backups through an agent, restore, sync, recover",
            .enabled(
                if: S3TestServer.isAvailable, "needs the moto S3 server scripts/test.sh starts"))
        func primaryOnS3() async throws {
            let s3 = try await S3TestServer.configuration()
            let root = FileManager.default.temporaryDirectory.appendingPathComponent(
                "zentoria-s3primary-\(UUID().uuidString)"
            ).path
            try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(atPath: root) }
            let local = try s3.tierYAML(name: "local", secretFile: "\(root)/s3.secret")
            let offsite = RcloneTestConfig.tierYAML(
                name: "offsite", remote: "scratch:\(root)/offsite",
                config: try RcloneTestConfig.writeScratch(in: root))
            let cluster = try Cluster(
                extraConfig: """
                    sync:
                      after_backup: false
                    tiers:
                    \(local)
                    \(offsite)
                    """)
            defer { cluster.shutdown() }
            try cluster.startCoordinator()
            #expect(!FileManager.default.fileExists(atPath: cluster.repository))
            try cluster.enroll("h1")
            let data = "\(root)/data"
            var random = SeededRandom(seed: 41)
            try Data(random.bytes(2_000_000)).write(to: URL(fileURLWithPath: data))
            try cluster.startAgent(
                "h1",
                components: """
                      - name: blob
                        kind: command
                        dump: ["cat", "\(data)"]
                    """)
            let backup = try cluster.admin(["backup", "h1/blob", "--wait"])
            #expect(backup.status == 0, "\(backup.stdoutText) \(backup.stderr)")
            let id = try #require(try snapshotIDs(cluster).first)
            let listed = try S3TestServer.aws([
                "s3api", "list-objects-v2", "--bucket", s3.bucket, "--prefix",
                s3.prefix + "/snapshots",
            ])
            #expect(listed.stdoutText.contains(id), "\(listed.stdoutText)")
            let out = "\(root)/out"
            #expect(try cluster.admin(["restore", id, "--output", out]).status == 0)
            #expect(
                FileManager.default.contents(atPath: out)
                    == FileManager.default.contents(atPath: data))

            let sync = try CommandRunner.run(
                Cluster.coordinatorBinary, ["sync", "--config", cluster.configPath])
            #expect(sync.status == 0, "\(sync.stdoutText) \(sync.stderr)")
            #expect(sync.stdoutText.contains("offsite: 1 snapshot(s) copied"), "\(sync.stdoutText)")
            cluster.stopCoordinator()

            // Lose the bucket's contents: recover tier 1 (on S3) from the off-site tier.
            let store = try S3BlobStore(configuration: s3)
            for kind in ObjectKind.allCases {
                for info in try await store.list(kind) { try await store.delete(info.name) }
            }
            let recovered = try CommandRunner.run(
                Cluster.coordinatorBinary,
                ["recover", "--tier", "offsite", "--config", cluster.configPath])
            #expect(recovered.status == 0, "\(recovered.stdoutText) \(recovered.stderr)")
            #expect(
                recovered.stdoutText.contains("into s3://\(s3.bucket)/"), "\(recovered.stdoutText)")
            try cluster.startCoordinator(initialize: false)
            #expect(try cluster.admin(["restore", id, "--output", "\(root)/again"]).status == 0)
            #expect(
                FileManager.default.contents(atPath: "\(root)/again")
                    == FileManager.default.contents(atPath: data))
        }

        @Test("a backup started by an admin is copied to the tiers at once (sync.after_backup)")
        func syncAfterManualBackup() async throws {
            let root = FileManager.default.temporaryDirectory.appendingPathComponent(
                "zentoria-aftersync-\(UUID().uuidString)"
            ).path
            try FileManager.default.createDirectory(
                atPath: root, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(atPath: root) }
            let offsite = RcloneTestConfig.tierYAML(
                name: "offsite", remote: "scratch:\(root)/offsite",
                config: try RcloneTestConfig.writeScratch(in: root))
            let cluster = try Cluster(
                extraConfig: """
                    tiers:
                    \(offsite)
                    """)
            defer { cluster.shutdown() }
            try cluster.startCoordinator()
            try cluster.enroll("h1")
            try cluster.startAgent(
                "h1",
                components: """
                      - name: numbers
                        kind: command
                        dump: ["seq", "1", "300000"]
                    """)
            let backup = try cluster.admin(["backup", "h1/numbers", "--wait"])
            #expect(backup.status == 0, "\(backup.stdoutText) \(backup.stderr)")
            try cluster.waitUntil("the new snapshot reached the off-site tier") {
                (try? cluster.admin(["snapshots"]).stdoutText.contains("local,offsite")) == true
            }
            let jobs = try CommandRunner.run(
                Cluster.coordinatorBinary, ["jobs", "--config", cluster.configPath])
            #expect(jobs.stdoutText.contains("sync"), "\(jobs.stdoutText)")
        }

        private func snapshotIDs(_ cluster: Cluster) throws -> [String] {
            let list = try cluster.admin(["snapshots", "--json"])
            let array =
                try JSONSerialization.jsonObject(with: Data(list.stdout)) as? [[String: Any]]
            return (array ?? []).compactMap { $0["id"] as? String }
        }
    }
}

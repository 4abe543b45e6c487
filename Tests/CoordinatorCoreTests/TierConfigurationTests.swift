import CoordinatorCore
import Foundation
import RepositoryCore
import TestSupport
import Testing

@Suite("Tiers in the coordinator's configuration")
struct TierConfigurationTests {
    static let tiers = """
        tiers:
          local:
            retention: {max_age: 14d}
          minio:
            s3:
              endpoint: http://10.0.0.5:9000
              bucket: backups
              prefix: /zentoria/repo/
              access_key_id: zentoria
              secret_access_key_file: /etc/zentoria/minio.secret
              part_size_mib: 32
          offsite:
            rclone:
              remote: "onedrive:Backups/zentoria"
              flags: [--tpslimit, "10"]
          archive:
            rclone:
              remote: "b2:archive"
            retention: {max_age: forever, keep-yearly: unlimited}

        """

    @Test("tiers decode with the seed's retention by default; secrets stay in their files")
    func decodes() async throws {
        let config = try await PolicyConfigurationTests.load(Self.tiers)
        #expect(config.tiers.map(\.name) == ["minio", "offsite", "archive"])
        #expect(config.localRetention == TierRetention(maxAge: RetentionDuration(days: 14)))
        guard case .s3(let s3, let secretFile, let tokenFile) = config.tiers[0].backend else {
            Issue.record("minio is not an S3 tier")
            return
        }
        #expect(s3.endpoint == "http://10.0.0.5:9000" && s3.bucket == "backups")
        #expect(s3.prefix == "zentoria/repo" && s3.addressing == .path && s3.region == "us-east-1")
        #expect(s3.partSize == 32 << 20 && s3.credentials.secretAccessKey.isEmpty)
        #expect(secretFile == "/etc/zentoria/minio.secret" && tokenFile == nil)
        #expect(config.tiers[0].retention == TierRetention(maxAge: RetentionDuration(days: 90)))
        guard case .rclone(let remote, let file, let flags) = config.tiers[1].backend else {
            Issue.record("offsite is not an rclone tier")
            return
        }
        #expect(
            remote == "onedrive:Backups/zentoria" && file == nil && flags == ["--tpslimit", "10"])
        #expect(
            config.tiers[1].retention
                == TierRetention(extra: RetentionPolicy(keepMonthly: .unlimited)))
        #expect(
            config.tiers[2].retention
                == TierRetention(extra: RetentionPolicy(keepYearly: .unlimited)))
        let plain = try await PolicyConfigurationTests.load("")
        #expect(plain.tiers.isEmpty)
        #expect(plain.localRetention == TierRetention(maxAge: RetentionDuration(days: 30)))
    }

    @Test(
        "bad tier settings are refused with file, line and setting",
        arguments: [
            (
                "tiers:\n  minio:\n    retention: {max_age: 3d}\n",
                "needs exactly one of 's3' or 'rclone'"
            ),
            (
                "tiers:\n  t:\n    rclone: {remote: nocolon}\n",
                "'tiers.t.rclone.remote': 'nocolon' is not an rclone remote"
            ),
            (
                "tiers:\n  t:\n    s3: {endpoint: 'ftp://x', bucket: b, access_key_id: k, secret_access_key_file: /f}\n",
                "is not an http(s)://host[:port] address"
            ),
            (
                "tiers:\n  t:\n    s3: {endpoint: 'http://x', bucket: b, access_key_id: k}\n",
                "the S3 secret key file is required"
            ),
            (
                "tiers:\n  t:\n    rclone: {remote: 'a:b'}\n    retention: {max_age: soon}\n",
                "'soon' is not a duration"
            ),
            ("tiers:\n  t:\n    rclone: {remote: 'a:b', speed: 3}\n", "unknown setting 'speed'"),
            (
                "tiers:\n  local:\n    rclone: {remote: 'a:b'}\n",
                "unknown setting 'rclone' in tier local"
            ),
            ("tiers:\n  'a b':\n    rclone: {remote: 'a:b'}\n", "must be letters, digits"),
            ("pack_size_mib: 1024\n", "'pack_size_mib': must be 1-512 (MiB), not 1024"),
        ])
    func refusals(_ body: String, _ expected: String) async throws {
        let message = try await PolicyConfigurationTests.failure(body)
        #expect(message.contains(expected), "\(message)")
        #expect(message.contains("coordinator.yaml:"), "\(message)")
    }

    static func snapshot(_ day: Int, hour: Int = 3) -> Snapshot {
        let time = Date(
            timeIntervalSince1970: 1_790_000_000 + Double(day) * 86_400 + Double(hour) * 3600)
        var digest = [UInt8](repeating: 0, count: 32)
        digest[0] = UInt8(day)
        digest[1] = UInt8(hour)
        return Snapshot(
            id: SnapshotID(Digest256(bytes: digest)), agent: "db", component: "pg",
            kind: "postgresql", tags: [], hostname: "h", startTime: time, endTime: time,
            size: 1, bytesAdded: 1, chunks: [])
    }

    @Test("a tier's max_age cuts the component's policy; extra rules keep more")
    func tierRetention() throws {
        let policies = PolicyConfiguration(timeZone: try #require(TimeZone(identifier: "UTC")))
        // Daily snapshots for 120 days; PostgreSQL keeps hourly 7d, daily 30d, weekly 84d.
        let snapshots = (0..<120).map { Self.snapshot($0) }
        func kept(_ tier: TierRetention) -> Set<Int> {
            let plans = policies.retention(for: snapshots, tier: tier)
            let ids = Set(plans.flatMap { $0.plan.keptSnapshots.map(\.id) })
            return Set(snapshots.indices.filter { ids.contains(snapshots[$0].id.description) })
        }
        let component = kept(TierRetention())
        #expect(component.contains(119) && component.contains(90) && !component.contains(20))
        let local = kept(.defaults(for: "local"))
        #expect(local == component.filter { $0 >= 89 })
        let minio = kept(.defaults(for: "minio"))
        #expect(minio == component)
        let offsite = kept(.defaults(for: "offsite"))
        #expect(offsite.isSuperset(of: component))
        // Day 9 is 2026-09-30, the newest of its month (restic's keep-monthly): it stays
        // off-site although PostgreSQL's own rules dropped it long ago.
        #expect(offsite.contains(9) && !component.contains(9) && !offsite.contains(8))
        #expect(offsite.count > component.count)
    }
}

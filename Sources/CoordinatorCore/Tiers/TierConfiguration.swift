package import Foundation
package import RepositoryCore

/// One storage tier beyond tier 1 (`tiers:` in the coordinator's YAML), keyed by its name:
///
/// ```yaml
/// tiers:
///   minio:
///     s3:
///       endpoint: http://10.10.40.5:9000      # http(s)://host[:port]
///       bucket: zentoria-backups
///       prefix: repository                   # optional key prefix
///       region: us-east-1                    # default us-east-1
///       addressing: path                     # path (MinIO, Ceph, moto) | virtual-host (AWS)
///       access_key_id: zentoria
///       secret_access_key_file: /etc/zentoria/minio.secret
///       session_token_file: /run/zentoria/token   # optional, temporary credentials
///     retention: { max_age: 90d }
///   offsite:
///     rclone:
///       remote: "onedrive:Backups/zentoria"
///       config: /etc/zentoria/rclone.conf    # optional; rclone's default otherwise
///       flags: [--onedrive-chunk-size, 10Mi, --tpslimit, "10"]
///     retention: { max_age: forever, keep_monthly: unlimited }
/// ```
///
/// A tier's retention is each component's own policy (the schedule's), plus the tier's extra
/// `keep_*` rules, limited to `max_age` measured back from the component's newest snapshot
/// on that tier (so a component whose backups stopped keeps its last state).
package struct TierConfiguration: Sendable {
    package enum Backend: Sendable {
        case s3(S3Configuration)
        case rclone(remote: String, configFile: String?, flags: [String])
    }

    package var name: String
    package var backend: Backend
    /// Snapshots older than this (behind the component's newest) leave the tier; nil: never.
    package var maxAge: RetentionDuration?
    /// Rules kept on this tier beyond the component's own (an archive's monthly snapshots).
    package var extra: RetentionPolicy?

    /// Defaults by tier name, the seed's: `minio` 90 days, `offsite` forever with the newest
    /// snapshot of every month kept; any other name 90 days.
    package static func defaultRetention(
        for name: String
    ) -> (maxAge: RetentionDuration?, extra: RetentionPolicy?) {
        switch name {
        case "offsite": (nil, RetentionPolicy(keepMonthly: .unlimited))
        default: (RetentionDuration(days: 90), nil)
        }
    }

    /// The first-tier name: the coordinator's own repository.
    package static let localName = "local"
}

extension TierConfiguration {
    /// Decodes the `tiers` mapping; secrets are read from their files here, so a missing
    /// file is reported at start-up with its setting's line.
    static func decodeAll(from decoder: any Decoder) throws -> [TierConfiguration] {
        let section = try decoder.container(keyedBy: ConfigKey.self)
        return try section.allKeys.map { key in
            let name = key.stringValue
            guard name != localName, !name.isEmpty,
                name.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" })
            else {
                throw section.problem(
                    name,
                    "tier name '\(name)' must be letters, digits, '-' or '_', and not 'local'")
            }
            let tier = try section.nestedContainer(keyedBy: ConfigKey.self, forKey: key)
            try tier.rejectUnknownKeys(["s3", "rclone", "retention"], in: "tier \(name)")
            let backend: Backend
            switch (tier.contains(ConfigKey("s3")), tier.contains(ConfigKey("rclone"))) {
            case (true, false):
                backend = .s3(
                    try s3(
                        try tier.nestedContainer(keyedBy: ConfigKey.self, forKey: ConfigKey("s3"))
                    ))
            case (false, true):
                let rclone = try tier.nestedContainer(
                    keyedBy: ConfigKey.self, forKey: ConfigKey("rclone"))
                try rclone.rejectUnknownKeys(["remote", "config", "flags"], in: "tier \(name)")
                let remote = try rclone.decode(String.self, forKey: ConfigKey("remote"))
                guard remote.contains(":") else {
                    throw rclone.problem(
                        "remote", "'\(remote)' is not an rclone remote; write NAME:path")
                }
                backend = .rclone(
                    remote: remote,
                    configFile: try rclone.decodeIfPresent(
                        String.self, forKey: ConfigKey("config")),
                    flags: try rclone.decodeIfPresent([String].self, forKey: ConfigKey("flags"))
                        ?? [])
            default:
                throw section.problem(name, "tier \(name) needs exactly one of 's3' or 'rclone'")
            }
            var (maxAge, extra) = defaultRetention(for: name)
            if tier.contains(ConfigKey("retention")) {
                let retention = try tier.nestedContainer(
                    keyedBy: ConfigKey.self, forKey: ConfigKey("retention"))
                (maxAge, extra) = try decodeRetention(retention, tier: name)
            }
            return TierConfiguration(name: name, backend: backend, maxAge: maxAge, extra: extra)
        }
    }

    private static func s3(_ c: ConfigContainer) throws -> S3Configuration {
        try c.rejectUnknownKeys(
            [
                "endpoint", "bucket", "prefix", "region", "addressing", "access_key_id",
                "secret_access_key_file", "session_token_file", "part_size_mib",
            ], in: "s3")
        let addressingText = try c.decodeIfPresent(String.self, forKey: ConfigKey("addressing"))
        let addressing = try addressingText.map { text in
            guard let value = S3Configuration.Addressing(rawValue: text) else {
                throw c.problem("addressing", "'\(text)' is not path or virtual-host")
            }
            return value
        }
        func secret(_ key: String) throws -> String? {
            guard let path = try c.decodeIfPresent(String.self, forKey: ConfigKey(key)) else {
                return nil
            }
            guard let data = FileManager.default.contents(atPath: path) else {
                throw c.problem(key, "cannot read \(path)")
            }
            let text = String(decoding: data, as: UTF8.self)
                .trimmingCharacters(in: .whitespacesAndNewlines)
            guard !text.isEmpty else { throw c.problem(key, "\(path) is empty") }
            return text
        }
        guard let secretKey = try secret("secret_access_key_file") else {
            throw c.problem("secret_access_key_file", "the S3 secret key file is required")
        }
        let partSize = try c.positiveInt("part_size_mib", minimum: 5).map { $0 << 20 }
        let configuration = S3Configuration(
            endpoint: try c.decode(String.self, forKey: ConfigKey("endpoint")),
            region: try c.decodeIfPresent(String.self, forKey: ConfigKey("region")) ?? "us-east-1",
            bucket: try c.decode(String.self, forKey: ConfigKey("bucket")),
            prefix: try c.decodeIfPresent(String.self, forKey: ConfigKey("prefix")) ?? "",
            addressing: addressing ?? .path,
            credentials: S3Credentials(
                accessKeyID: try c.decode(String.self, forKey: ConfigKey("access_key_id")),
                secretAccessKey: secretKey, sessionToken: try secret("session_token_file")),
            partSize: partSize ?? 16 << 20)
        do {
            _ = try S3BlobStore(configuration: configuration)
        } catch let error as StorageError {
            throw c.problem("endpoint", error.message)
        }
        return configuration
    }

    private static func decodeRetention(
        _ c: ConfigContainer, tier: String
    ) throws -> (RetentionDuration?, RetentionPolicy?) {
        let rules = [
            "keep_last", "keep_hourly", "keep_daily", "keep_weekly", "keep_monthly", "keep_yearly",
        ]
        try c.rejectUnknownKeys(Set(["max_age"] + rules), in: "retention of tier \(tier)")
        var maxAge: RetentionDuration?
        if let text = try c.decodeIfPresent(String.self, forKey: ConfigKey("max_age")),
            text != "forever"
        {
            do {
                maxAge = try RetentionDuration(text)
            } catch {
                throw c.problem(
                    "max_age", "'\(text)' is not a duration such as 30d or 1y2m, nor forever")
            }
        }
        func count(_ key: String) throws -> RetentionCount? {
            try c.decodeIfPresent(RetentionCount.self, forKey: ConfigKey(key))
        }
        let extra = RetentionPolicy(
            keepLast: try count("keep_last"), keepHourly: try count("keep_hourly"),
            keepDaily: try count("keep_daily"), keepWeekly: try count("keep_weekly"),
            keepMonthly: try count("keep_monthly"), keepYearly: try count("keep_yearly"))
        return (maxAge, extra == RetentionPolicy() ? nil : extra)
    }
}

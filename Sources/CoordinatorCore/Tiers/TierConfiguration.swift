import Foundation
package import RepositoryCore

/// One storage tier beyond tier 1 (`tiers:` in the coordinator's YAML), keyed by its name:
///
/// ```yaml
/// tiers:
///   local:                                   # tier 1 itself: only `retention`, and
///     retention: { max_age: 30d }            # optionally `s3:` to keep it in a bucket
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
///       part_size_mib: 16                    # multipart part size; default 16, minimum 5
///       multipart_threshold_mib: 64          # larger objects go up in parts; default 64, min 5
///     retention: { max_age: 90d }
///   offsite:
///     rclone:
///       remote: "onedrive:Backups/zentoria"
///       config: /etc/zentoria/rclone.conf    # optional; rclone's default otherwise
///       flags: [--onedrive-chunk-size, 10Mi, --tpslimit, "10"]
///     retention: { max_age: forever, keep-monthly: unlimited }
/// ```
///
/// A tier's retention is each component's own policy (the schedule's), plus the tier's extra
/// `keep_*` rules, limited to `max_age` measured back from the component's newest snapshot
/// on that tier (so a component whose backups stopped keeps its last state).
package struct TierConfiguration: Sendable {
    package enum Backend: Sendable {
        /// The secret key (and session token) stay in their files until the store is opened,
        /// so the configuration holds no secret.
        case s3(S3Configuration, secretKeyFile: String, sessionTokenFile: String?)
        case rclone(remote: String, configFile: String?, flags: [String])
    }

    package var name: String
    package var backend: Backend
    package var retention: TierRetention

    /// The first-tier name: the coordinator's own repository.
    package static let localName = "local"
}

extension TierConfiguration {
    /// Decodes the `tiers` mapping. Secret files are read when a tier's store is opened
    /// (`serve` checks every tier at start-up and reports what is wrong).
    static func decodeAll(
        from decoder: any Decoder
    ) throws -> (local: TierRetention, localBackend: Backend?, tiers: [TierConfiguration]) {
        let section = try decoder.container(keyedBy: ConfigKey.self)
        var local = TierRetention.defaults(for: localName)
        var localBackend: Backend?
        var tiers: [TierConfiguration] = []
        for key in section.allKeys {
            let name = key.stringValue
            guard !name.isEmpty,
                name.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" })
            else {
                throw section.problem(
                    name, "tier name '\(name)' must be letters, digits, '-' or '_'")
            }
            if name == localName {
                let entry = try section.nestedContainer(keyedBy: ConfigKey.self, forKey: key)
                try entry.rejectUnknownKeys(
                    ["retention", "s3"],
                    in: "tier local (tier 1: the `repository` directory, or an S3 bucket)")
                if entry.contains(ConfigKey("s3")) {
                    localBackend = try s3(
                        try entry.nestedContainer(keyedBy: ConfigKey.self, forKey: ConfigKey("s3")))
                }
                if entry.contains(ConfigKey("retention")) {
                    local = try TierRetention(
                        decoding: try entry.nestedContainer(
                            keyedBy: ConfigKey.self, forKey: ConfigKey("retention")),
                        tier: name)
                }
                continue
            }
            tiers.append(try decodeTier(name, in: section, key: key))
        }
        return (local, localBackend, tiers)
    }

    private static func decodeTier(
        _ name: String, in section: ConfigContainer, key: ConfigKey
    ) throws -> TierConfiguration {
        let tier = try section.nestedContainer(keyedBy: ConfigKey.self, forKey: key)
        try tier.rejectUnknownKeys(["s3", "rclone", "retention"], in: "tier \(name)")
        let backend: Backend
        switch (tier.contains(ConfigKey("s3")), tier.contains(ConfigKey("rclone"))) {
        case (true, false):
            backend = try s3(
                try tier.nestedContainer(keyedBy: ConfigKey.self, forKey: ConfigKey("s3")))
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
        var retention = TierRetention.defaults(for: name)
        if tier.contains(ConfigKey("retention")) {
            retention = try TierRetention(
                decoding: try tier.nestedContainer(
                    keyedBy: ConfigKey.self, forKey: ConfigKey("retention")),
                tier: name)
        }
        return TierConfiguration(name: name, backend: backend, retention: retention)
    }

    private static func s3(_ c: ConfigContainer) throws -> Backend {
        try c.rejectUnknownKeys(
            [
                "endpoint", "bucket", "prefix", "region", "addressing", "access_key_id",
                "secret_access_key_file", "session_token_file", "part_size_mib",
                "multipart_threshold_mib",
            ], in: "s3")
        let addressingText = try c.decodeIfPresent(String.self, forKey: ConfigKey("addressing"))
        let addressing = try addressingText.map { text in
            guard let value = S3Configuration.Addressing(rawValue: text) else {
                throw c.problem("addressing", "'\(text)' is not path or virtual-host")
            }
            return value
        }
        guard
            let secretFile = try c.decodeIfPresent(
                String.self, forKey: ConfigKey("secret_access_key_file"))
        else {
            throw c.problem("secret_access_key_file", "the S3 secret key file is required")
        }
        let partSize = try c.positiveInt("part_size_mib", minimum: 5).map { $0 << 20 }
        let threshold = try c.positiveInt("multipart_threshold_mib", minimum: 5).map { $0 << 20 }
        var configuration = S3Configuration(
            endpoint: try c.decode(String.self, forKey: ConfigKey("endpoint")),
            region: try c.decodeIfPresent(String.self, forKey: ConfigKey("region")) ?? "us-east-1",
            bucket: try c.decode(String.self, forKey: ConfigKey("bucket")),
            prefix: try c.decodeIfPresent(String.self, forKey: ConfigKey("prefix")) ?? "",
            addressing: addressing ?? .path,
            credentials: S3Credentials(
                accessKeyID: try c.decode(String.self, forKey: ConfigKey("access_key_id")),
                secretAccessKey: ""),
            partSize: partSize ?? 16 << 20)
        if let threshold { configuration.multipartThreshold = threshold }
        do {
            _ = try S3BlobStore(configuration: configuration)
        } catch let error as StorageError {
            throw c.problem("endpoint", error.message)
        }
        return .s3(
            configuration, secretKeyFile: secretFile,
            sessionTokenFile: try c.decodeIfPresent(
                String.self, forKey: ConfigKey("session_token_file")))
    }
}

extension TierConfiguration {
    /// A secret read from its file, trimmed.
    /// - Throws: `.unauthorized` naming a file that cannot be read or is empty.
    static func secret(_ path: String) throws -> String {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw StorageError(.unauthorized, "cannot read the secret file \(path)")
        }
        let text = String(decoding: data, as: UTF8.self)
            .trimmingCharacters(in: .whitespacesAndNewlines)
        guard !text.isEmpty else {
            throw StorageError(.unauthorized, "the secret file \(path) is empty")
        }
        return text
    }
}

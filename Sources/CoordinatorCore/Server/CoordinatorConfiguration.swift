import Foundation
package import Logging
package import RepositoryCore
package import Transport

/// `zentoria-coordinator serve --config FILE` (YAML). Every key, its type and default:
///
/// | key | type | default | |
/// |---|---|---|---|
/// | `listen` | host:port | `0.0.0.0:7444` | agent channel (mutual TLS) |
/// | `enroll_listen` | host:port | `0.0.0.0:7443` | enrollment (TLS, token) |
/// | `server_names` | [string] | `[localhost, 127.0.0.1]` | names and IPs agents dial; go into the server certificate |
/// | `state_dir` | path | required | CA, certificates, agents, tokens (kept private) |
/// | `repository` | path | `<state_dir>/repository` | tier-1 repository directory |
/// | `password_file` | path | required, secret | repository password |
/// | `admin_socket` | path | `<state_dir>/admin.sock` | admin API, owner-only |
/// | `catalog` | path | `<state_dir>/catalog.db` | SQLite catalog (jobs, snapshot cache) |
/// | `pack_size_mib` | 1-512 | 16 | pack size of a repository `init` creates; tiers get these packs verbatim |
///
/// Tiers beyond tier 1: `tiers` (``TierConfiguration``).
/// Schedules and retention: ``PolicyConfiguration`` (`time_zone`, `jobs`, `kinds`,
/// `components`, `prune`).
package struct CoordinatorConfiguration: Sendable, Decodable {
    package var listen: HostPort
    package var enrollListen: HostPort
    package var serverNames: [String]
    package var stateDirectory: String
    package var repository: String
    package var passwordFile: String
    package var adminSocket: String
    package var catalog: String
    /// The pack size `init` gives a new repository, in MiB.
    package var packSizeMiB = 16
    package var policies: PolicyConfiguration
    package var tiers: [TierConfiguration]
    /// Tier 1's own limit (`tiers: local: retention:`), on top of each component's policy.
    package var localRetention: TierRetention
    /// Tier 1 on an S3 bucket (`tiers: local: s3:`) instead of the `repository` directory:
    /// the way to outgrow one disk (MinIO in distributed mode, Ceph, AWS).
    package var localBackend: TierConfiguration.Backend?

    enum CodingKeys: String, CodingKey, CaseIterable {
        case listen
        case enrollListen = "enroll_listen"
        case serverNames = "server_names"
        case stateDirectory = "state_dir"
        case repository
        case passwordFile = "password_file"
        case adminSocket = "admin_socket"
        case catalog
        case packSizeMiB = "pack_size_mib"
        case timeZone = "time_zone"
        case jobs, kinds, components, prune, sync, tiers
    }

    package init(
        listen: HostPort, enrollListen: HostPort, serverNames: [String], stateDirectory: String,
        repository: String? = nil, passwordFile: String, adminSocket: String? = nil,
        catalog: String? = nil, policies: PolicyConfiguration = PolicyConfiguration(),
        tiers: [TierConfiguration] = [],
        localRetention: TierRetention = .defaults(for: TierConfiguration.localName)
    ) {
        (self.listen, self.enrollListen, self.serverNames) = (listen, enrollListen, serverNames)
        self.stateDirectory = stateDirectory
        self.repository = repository ?? "\(stateDirectory)/repository"
        self.passwordFile = passwordFile
        self.adminSocket = adminSocket ?? "\(stateDirectory)/admin.sock"
        self.catalog = catalog ?? "\(stateDirectory)/catalog.db"
        self.policies = policies
        self.tiers = tiers
        self.localRetention = localRetention
    }

    package init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let state = try c.decode(String.self, forKey: .stateDirectory)
        let tiers =
            c.contains(.tiers)
            ? try TierConfiguration.decodeAll(from: try c.superDecoder(forKey: .tiers))
            : (
                local: TierRetention.defaults(for: TierConfiguration.localName),
                localBackend: nil, tiers: []
            )
        self.init(
            listen: try c.decodeIfPresent(HostPort.self, forKey: .listen)
                ?? HostPort(host: "0.0.0.0", port: 7444),
            enrollListen: try c.decodeIfPresent(HostPort.self, forKey: .enrollListen)
                ?? HostPort(host: "0.0.0.0", port: 7443),
            serverNames: try c.decodeIfPresent([String].self, forKey: .serverNames) ?? [
                "localhost", "127.0.0.1",
            ],
            stateDirectory: state,
            repository: try c.decodeIfPresent(String.self, forKey: .repository),
            passwordFile: try c.decode(String.self, forKey: .passwordFile),
            adminSocket: try c.decodeIfPresent(String.self, forKey: .adminSocket),
            catalog: try c.decodeIfPresent(String.self, forKey: .catalog),
            policies: try PolicyConfiguration(decoding: decoder),
            tiers: tiers.tiers, localRetention: tiers.local)
        localBackend = tiers.localBackend
        if let size = try c.decodeIfPresent(Int.self, forKey: .packSizeMiB) {
            guard (1...512).contains(size) else {
                throw DecodingError.dataCorruptedError(
                    forKey: .packSizeMiB, in: c,
                    debugDescription: "must be 1-512 (MiB), not \(size)")
            }
            packSizeMiB = size
        }
    }

    /// Refuses component overrides for agents that are not enrolled or components they did not
    /// announce, naming the file and line of each.
    package func checkComponents(
        against directory: AgentDirectory, path: String
    ) throws {
        var agents: [String: [String]] = [:]
        for record in directory.all where !record.revoked {
            agents[record.name] = record.components.map(\.name)
        }
        let problems = policies.unknownComponents(agents: agents).map { key, problem in
            let line = YAMLConfigFile.line(of: ["components", key], in: path)
            return "\(path):\(line.map(String.init) ?? "?"): 'components.\(key)': \(problem)"
        }
        guard problems.isEmpty else {
            throw TransportError(.configuration, problems.joined(separator: "\n"))
        }
    }

    /// Where tier 1 lives, for messages: its directory or `s3://bucket/prefix at endpoint`.
    package var primaryDescription: String {
        guard case .s3(let s3, _, _)? = localBackend else { return repository }
        return "s3://\(s3.bucket)/\(s3.prefix) at \(s3.endpoint)"
    }

    /// The store of tier 1: the `repository` directory, or the S3 bucket of `tiers: local:`.
    package func primaryStore(logger: Logger) throws -> any BlobStore {
        guard let localBackend else {
            return FileSystemBlobStore(root: repository, name: TierConfiguration.localName)
        }
        return try Replicator.store(
            for: TierConfiguration(
                name: TierConfiguration.localName, backend: localBackend,
                retention: localRetention),
            logger: logger)
    }

    /// Reads and checks a configuration file; every problem is reported with file and line.
    package static func load(path: String) throws -> CoordinatorConfiguration {
        let config = try YAMLConfigFile.load(
            CoordinatorConfiguration.self, path: path,
            allowedKeys: Set(CodingKeys.allCases.map(\.rawValue)))
        guard !config.serverNames.isEmpty else {
            throw TransportError(
                .configuration, "\(path): server_names must name at least one host or address")
        }
        return config
    }
}

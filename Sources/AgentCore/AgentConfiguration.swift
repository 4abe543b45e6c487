package import Components
import Foundation
package import Transport

/// `zentoria-agent run --config FILE` (YAML). Keys:
///
/// | key | type | default | |
/// |---|---|---|---|
/// | `state_dir` | path | `/var/lib/zentoria-agent` | key, certificates and enrollment (written by `enroll`) |
/// | `coordinator` | host:port | from enrollment | the agent channel |
/// | `components` | list | required | what this host backs up, see below |
///
/// Each component has `name` and `kind` plus the kind's settings: `postgresql` (`database`,
/// `host`, `port`, `user`, `password_file` or `password_env`, `bin_dir`; `database: "*"`
/// becomes one component `NAME-DB` per database when the agent starts), `postgresql-globals`
/// (the same connection settings, no `database`), `files` (`path`, `include`, `exclude`),
/// `command` (`dump`, `restore`, `check`, `environment`). Secrets are referenced by file or variable.
package struct AgentConfiguration: Sendable, Decodable {
    package var stateDirectory: String
    package var coordinator: HostPort?
    package var components: [ComponentSpec]

    enum CodingKeys: String, CodingKey, CaseIterable {
        case stateDirectory = "state_dir"
        case coordinator, components
    }

    package init(stateDirectory: String, coordinator: HostPort? = nil, components: [ComponentSpec])
    {
        (self.stateDirectory, self.coordinator, self.components) = (
            stateDirectory, coordinator, components
        )
    }

    package init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        stateDirectory =
            try c.decodeIfPresent(String.self, forKey: .stateDirectory) ?? "/var/lib/zentoria-agent"
        coordinator = try c.decodeIfPresent(HostPort.self, forKey: .coordinator)
        components = try c.decode([ComponentSpec].self, forKey: .components)
    }

    /// Reads and checks a configuration file.
    package static func load(path: String) throws -> AgentConfiguration {
        let config = try YAMLConfigFile.load(
            AgentConfiguration.self, path: path,
            allowedKeys: Set(CodingKeys.allCases.map(\.rawValue)))
        var seen = Set<String>()
        for spec in config.components where !seen.insert(spec.name).inserted {
            throw TransportError(
                .configuration, "\(path): component '\(spec.name)' is defined twice")
        }
        for spec in config.components where !spec.isClusterWide { _ = try spec.make() }
        return config
    }

    /// The component adapters; `database: "*"` is expanded by asking the server.
    package func makeComponents() async throws -> [any Component] {
        var made: [any Component] = []
        for spec in components {
            if case .postgresql(let connection) = spec.settings, spec.isClusterWide {
                for database in try await PostgreSQLComponent.databases(
                    connection, component: spec.name)
                {
                    var one = connection
                    one.database = database
                    made.append(
                        try PostgreSQLComponent(
                            name: "\(spec.name)-\(database)", configuration: one))
                }
            } else {
                made.append(try spec.make())
            }
        }
        return made
    }
}

/// One component as configured.
package struct ComponentSpec: Sendable, Decodable {
    package enum Settings: Sendable {
        case postgresql(PostgreSQLComponent.Configuration)
        case postgresqlGlobals(PostgreSQLComponent.Configuration)
        case files(FilesComponent.Configuration)
        case command(CommandComponent.Configuration)
    }

    package var name: String
    package var settings: Settings

    package init(name: String, settings: Settings) { (self.name, self.settings) = (name, settings) }

    private enum Keys: String, CodingKey {
        case name, kind, database, host, port, user
        case passwordFile = "password_file"
        case passwordEnvironment = "password_env"
        case binDirectory = "bin_dir"
        case path, include, exclude, dump, restore, check, environment
    }

    package init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: Keys.self)
        name = try c.decode(String.self, forKey: .name)
        let kind = try c.decode(String.self, forKey: .kind)
        let allowed: Set<Keys>
        switch kind {
        case "postgresql", "postgresql-globals":
            allowed = [
                .name, .kind, .database, .host, .port, .user, .passwordFile, .passwordEnvironment,
                .binDirectory,
            ]
            let connection = PostgreSQLComponent.Configuration(
                database: kind == "postgresql"
                    ? try c.decode(String.self, forKey: .database) : "postgres",
                host: try c.decodeIfPresent(String.self, forKey: .host),
                port: try c.decodeIfPresent(Int.self, forKey: .port),
                user: try c.decodeIfPresent(String.self, forKey: .user),
                passwordFile: try c.decodeIfPresent(String.self, forKey: .passwordFile),
                passwordEnvironment: try c.decodeIfPresent(
                    String.self, forKey: .passwordEnvironment),
                binDirectory: try c.decodeIfPresent(String.self, forKey: .binDirectory))
            settings =
                kind == "postgresql" ? .postgresql(connection) : .postgresqlGlobals(connection)
        case "files":
            allowed = [.name, .kind, .path, .include, .exclude]
            settings = .files(
                .init(
                    path: try c.decode(String.self, forKey: .path),
                    exclude: try c.decodeIfPresent([String].self, forKey: .exclude),
                    include: try c.decodeIfPresent([String].self, forKey: .include)))
        case "command":
            allowed = [.name, .kind, .dump, .restore, .check, .environment]
            settings = .command(
                .init(
                    dump: try c.decode([String].self, forKey: .dump),
                    restore: try c.decodeIfPresent([String].self, forKey: .restore),
                    check: try c.decodeIfPresent([String].self, forKey: .check),
                    environment: try c.decodeIfPresent([String: String].self, forKey: .environment))
            )
        default:
            throw DecodingError.dataCorruptedError(
                forKey: .kind, in: c,
                debugDescription:
                    "unknown component kind '\(kind)' (postgresql, postgresql-globals, files, command)"
            )
        }
        if let unknown = c.allKeys.first(where: { !allowed.contains($0) }) {
            throw DecodingError.dataCorruptedError(
                forKey: unknown, in: c,
                debugDescription: "'\(unknown.stringValue)' is not a setting of \(kind) components")
        }
    }

    /// `database: "*"`: one component per database of the cluster.
    package var isClusterWide: Bool {
        if case .postgresql(let connection) = settings { return connection.database == "*" }
        return false
    }

    package var kind: String {
        switch settings {
        case .postgresql: "postgresql"
        case .postgresqlGlobals: "postgresql-globals"
        case .files: "files"
        case .command: "command"
        }
    }

    package func make() throws -> any Component {
        switch settings {
        case .postgresql(let configuration):
            try PostgreSQLComponent(name: name, configuration: configuration)
        case .postgresqlGlobals(let configuration):
            PostgreSQLGlobalsComponent(name: name, connection: configuration)
        case .files(let configuration): try FilesComponent(name: name, configuration: configuration)
        case .command(let configuration):
            try CommandComponent(name: name, configuration: configuration)
        }
    }
}

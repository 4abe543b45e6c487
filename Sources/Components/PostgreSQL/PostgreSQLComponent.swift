import Foundation

/// One PostgreSQL database: `pg_dump -Fc -Z0` (uncompressed: the repository compresses faster
/// and deduplicates raw bytes), restored with `pg_restore` into a target database.
package struct PostgreSQLComponent: Component {
    package struct Configuration: Sendable, Hashable, Codable {
        package var database: String
        /// Host name or socket directory; empty uses libpq's default.
        package var host: String?
        package var port: Int?
        package var user: String?
        /// A file holding the password (never the password itself in the config).
        package var passwordFile: String?
        /// Or: the environment variable holding it.
        package var passwordEnvironment: String?
        /// Directory of the PostgreSQL client tools; PATH when absent.
        package var binDirectory: String?

        package init(
            database: String, host: String? = nil, port: Int? = nil, user: String? = nil,
            passwordFile: String? = nil, passwordEnvironment: String? = nil,
            binDirectory: String? = nil
        ) {
            (self.database, self.host, self.port, self.user) = (database, host, port, user)
            (self.passwordFile, self.passwordEnvironment, self.binDirectory) = (
                passwordFile, passwordEnvironment, binDirectory
            )
        }
    }

    package let name: String
    package var kind: String { "postgresql" }
    package let configuration: Configuration

    package init(name: String, configuration: Configuration) throws {
        guard !configuration.database.isEmpty else {
            throw ComponentError(.configuration, "component \(name): `database` is required")
        }
        (self.name, self.configuration) = (name, configuration)
    }

    package func dump(into sink: DumpSink) async throws {
        try await tool("pg_dump", ["-Fc", "-Z0", "--no-password", "-d", configuration.database])
            .dump(into: sink)
    }

    package func restore<Source: AsyncSequence>(
        from source: Source, target: String?, overwrite: Bool
    ) async throws where Source.Element == [UInt8] {
        let database = target ?? configuration.database
        guard !database.isEmpty, !database.hasPrefix("-") else {
            throw ComponentError(.configuration, "'\(database)' is not a database name")
        }
        if try await exists(database) {
            if try await userRelationCount(database) > 0, !overwrite {
                throw ComponentError(
                    .refused,
                    "database \(database) is not empty; restore into another target or allow overwriting"
                )
            }
        } else {
            _ = try await tool("createdb", ["--no-password", database])
                .run(input: Optional<EmptyInput>.none, output: { _ in }, failure: .restoreFailed)
        }
        var arguments = ["--no-password", "--exit-on-error", "-d", database]
        if overwrite { arguments += ["--clean", "--if-exists"] }
        _ = try await tool("pg_restore", arguments).run(
            input: source, output: { _ in }, failure: .restoreFailed)
    }

    /// Connects to the restored database and counts its tables and their rows exactly.
    package func checkRestore(target: String?) async throws -> String {
        let database = target ?? configuration.database
        let counts: String
        do {
            counts = try await query(
                database,
                "SELECT count(*) || ' ' || coalesce(sum((xpath('/row/c/text()', query_to_xml("
                    + "format('SELECT count(*) AS c FROM %I.%I', schemaname, tablename), false, true, '')))[1]::text::bigint), 0) "
                    + "FROM pg_tables WHERE schemaname NOT IN ('pg_catalog', 'information_schema')")
        } catch let error as ComponentError {
            throw ComponentError(
                .checkFailed, "database \(database) cannot be queried: \(error.message)")
        }
        let parts = counts.split(separator: " ")
        guard parts.count == 2, let tables = Int(parts[0]), let rows = Int(parts[1]) else {
            throw ComponentError(.checkFailed, "database \(database) answered '\(counts)'")
        }
        return "database \(database): \(tables) table(s), \(rows) row(s)"
    }

    private func exists(_ database: String) async throws -> Bool {
        let output = try await query(
            "postgres",
            "SELECT count(*) FROM pg_database WHERE datname = '\(database.replacingOccurrences(of: "'", with: "''"))'"
        )
        return output == "1"
    }

    private func userRelationCount(_ database: String) async throws -> Int {
        let output = try await query(
            database,
            "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                + "WHERE n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg_toast%'"
        )
        return Int(output) ?? 0
    }

    private func query(_ database: String, _ sql: String) async throws -> String {
        var output: [UInt8] = []
        _ = try await tool("psql", ["--no-password", "-X", "-At", "-d", database, "-c", sql])
            .run(
                input: Optional<EmptyInput>.none, output: { output += $0 }, failure: .restoreFailed)
        return String(decoding: output, as: UTF8.self).trimmingCharacters(
            in: .whitespacesAndNewlines)
    }

    private func tool(_ name: String, _ arguments: [String]) throws -> ChildProcess {
        try Self.tool(name, arguments, configuration, component: self.name)
    }

    /// A PostgreSQL client tool with the connection settings in its environment.
    static func tool(
        _ name: String, _ arguments: [String], _ configuration: Configuration, component: String
    ) throws -> ChildProcess {
        var environment: [String: String] = [:]
        if let host = configuration.host { environment["PGHOST"] = host }
        if let port = configuration.port { environment["PGPORT"] = String(port) }
        if let user = configuration.user { environment["PGUSER"] = user }
        if let file = configuration.passwordFile {
            guard let data = FileManager.default.contents(atPath: file) else {
                throw ComponentError(
                    .configuration, "component \(component): cannot read password file \(file)")
            }
            environment["PGPASSWORD"] = String(decoding: data, as: UTF8.self).trimmingCharacters(
                in: .newlines)
        } else if let variable = configuration.passwordEnvironment {
            guard let value = ProcessInfo.processInfo.environment[variable] else {
                throw ComponentError(
                    .configuration,
                    "component \(component): environment variable \(variable) is not set")
            }
            environment["PGPASSWORD"] = value
        }
        let executable = configuration.binDirectory.map { "\($0)/\(name)" } ?? name
        return ChildProcess(executable: executable, arguments: arguments, environment: environment)
    }

    /// The databases of a cluster that accept connections, templates excluded: what
    /// `database: "*"` expands to when an agent starts.
    package static func databases(
        _ configuration: Configuration, component: String
    ) async throws -> [String] {
        var output: [UInt8] = []
        _ = try await tool(
            "psql",
            [
                "--no-password", "-X", "-At", "-d", "postgres", "-c",
                "SELECT datname FROM pg_database WHERE datallowconn AND NOT datistemplate ORDER BY datname",
            ],
            configuration, component: component
        ).run(input: Optional<EmptyInput>.none, output: { output += $0 }, failure: .configuration)
        return String(decoding: output, as: UTF8.self).split(separator: "\n").map(String.init)
            .filter { !$0.isEmpty }
    }
}

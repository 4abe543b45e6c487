import Foundation

/// A PostgreSQL cluster's global objects (roles, tablespaces) from `pg_dumpall --globals-only`,
/// restored with `psql`: back them up beside the databases so a restore on a new server has its
/// roles. Roles that already exist are reported by psql and skipped.
package struct PostgreSQLGlobalsComponent: Component {
    package let name: String
    package var kind: String { "postgresql-globals" }
    package let connection: PostgreSQLComponent.Configuration

    package init(name: String, connection: PostgreSQLComponent.Configuration) {
        (self.name, self.connection) = (name, connection)
    }

    package func dump(into sink: DumpSink) async throws {
        try await PostgreSQLComponent.tool(
            "pg_dumpall", ["--globals-only", "--no-password"], connection, component: name
        ).dump(into: sink)
    }

    package func restore<Source: AsyncSequence>(
        from source: Source, target: String?, overwrite: Bool
    ) async throws where Source.Element == [UInt8] {
        _ = try await PostgreSQLComponent.tool(
            "psql", ["--no-password", "-X", "-q", "-d", target ?? "postgres", "-f", "-"],
            connection, component: name
        )
        .run(input: source, output: { _ in }, failure: .restoreFailed)
    }

    /// Counts the roles the server now has (the restore creates the missing ones).
    package func checkRestore(target: String?) async throws -> String {
        var output: [UInt8] = []
        do {
            _ = try await PostgreSQLComponent.tool(
                "psql",
                [
                    "--no-password", "-X", "-At", "-d", target ?? "postgres", "-c",
                    "SELECT count(*) FROM pg_roles WHERE rolname NOT LIKE 'pg\\_%'",
                ], connection, component: name
            ).run(input: Optional<EmptyInput>.none, output: { output += $0 }, failure: .checkFailed)
        } catch let error as ComponentError {
            throw ComponentError(.checkFailed, "the server cannot be queried: \(error.message)")
        }
        let text = String(decoding: output, as: UTF8.self).trimmingCharacters(
            in: .whitespacesAndNewlines)
        guard let roles = Int(text), roles > 0 else {
            throw ComponentError(.checkFailed, "the server reports '\(text)' roles")
        }
        return "\(roles) role(s)"
    }
}

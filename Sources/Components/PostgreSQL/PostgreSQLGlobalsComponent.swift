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
}

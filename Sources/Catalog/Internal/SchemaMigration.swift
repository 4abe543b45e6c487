/// One step of the catalog schema: what turns a database at `version - 1` into `version`.
///
/// Released migrations never change; a new schema is a new migration appended to the list.
struct SchemaMigration: Sendable {
    /// The `PRAGMA user_version` the database has after this step.
    let version: Int32
    /// What the step does, for messages.
    let summary: String
    /// Performs the step inside the transaction the migrator opened; must not commit.
    let apply: @Sendable (SQLiteDatabase) throws -> Void

    init(
        version: Int32, summary: String, apply: @escaping @Sendable (SQLiteDatabase) throws -> Void
    ) {
        (self.version, self.summary, self.apply) = (version, summary, apply)
    }

    /// A step that runs a fixed SQL script.
    init(version: Int32, summary: String, sql: String) {
        self.init(version: version, summary: summary) { try $0.execute(sql) }
    }
}

/// Brings a database up to the newest schema in an ordered list of ``SchemaMigration``s.
///
/// The version lives in `PRAGMA user_version` (0 for a new, empty file). Each missing step
/// runs in its own `BEGIN IMMEDIATE` transaction together with the version bump, so a crash
/// or a failing step leaves the database at the last completed version. The version is read
/// again under the write lock, so two processes opening the same file apply each step once.
enum SchemaMigrator {
    /// Fails unless the database's version is one this list knows, without writing anything.
    ///
    /// - Returns: the database's current version.
    /// - Throws: ``CatalogError/Code/schemaTooNew`` when the database is newer than the list.
    @discardableResult
    static func checkVersion(
        of database: SQLiteDatabase, against migrations: [SchemaMigration]
    )
        throws -> Int32
    {
        let version = try currentVersion(of: database)
        let newest = migrations.last?.version ?? 0
        guard version <= newest else {
            throw CatalogError(
                .schemaTooNew,
                "\(database.path) has schema version \(version) but this build knows only up "
                    + "to \(newest); it was left unchanged, use a newer coordinator")
        }
        return version
    }

    /// Applies every migration whose version is above the database's, in order.
    ///
    /// - Returns: the versions that were applied by this call.
    /// - Throws: ``CatalogError/Code/schemaTooNew`` as ``checkVersion(of:against:)`` does; any
    ///   error of a step, wrapped with the step's version and summary.
    @discardableResult
    static func migrate(
        _ database: SQLiteDatabase, with migrations: [SchemaMigration]
    ) throws
        -> [Int32]
    {
        for (offset, migration) in migrations.enumerated() {
            precondition(
                migration.version == Int32(offset + 1),
                "migration versions must be 1, 2, 3… in order; found \(migration.version)")
        }
        var applied: [Int32] = []
        let start = try checkVersion(of: database, against: migrations)
        for migration in migrations where migration.version > start {
            let didApply = try database.transaction {
                let version = try checkVersion(of: database, against: migrations)
                guard version < migration.version else { return false }
                do {
                    try migration.apply(database)
                } catch let error as CatalogError {
                    throw error.adding(
                        context: "schema migration \(migration.version) (\(migration.summary))")
                }
                try database.setIntegerPragma("user_version", Int64(migration.version))
                return true
            }
            if didApply { applied.append(migration.version) }
        }
        return applied
    }

    private static func currentVersion(of database: SQLiteDatabase) throws -> Int32 {
        let version = try database.integerPragma("user_version")
        guard let narrow = Int32(exactly: version), narrow >= 0 else {
            throw CatalogError(.corrupt, "\(database.path) has user_version \(version)")
        }
        return narrow
    }
}

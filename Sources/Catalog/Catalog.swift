package import Foundation
import Synchronization

/// The coordinator's record of agents, components, jobs and cached snapshot metadata, kept
/// in one SQLite file.
///
/// **Threading.** `Catalog` is a `final class` whose single SQLite connection sits in a
/// `Mutex` (from `Synchronization`), so it is `Sendable` and every method is synchronous and
/// safe to call from any thread or task. Calls are short (one indexed statement or one small
/// transaction), so holding a lock is cheaper than an actor hop, and synchronous callers (the
/// CLI, TLS handshake callbacks) need no `await`. Nothing suspends while the lock is held.
/// Because the mutex serializes all use of the connection, SQLite's own per-connection mutex
/// is switched off (`SQLITE_OPEN_NOMUTEX`). Other processes may open the same file: WAL mode
/// lets readers run beside one writer, and writers wait up to the busy timeout for each
/// other before failing with ``CatalogError/Code/busy``.
///
/// **Durability.** WAL with `synchronous = NORMAL`: a committed change survives a crash of
/// the process; a power loss may lose the last few commits but never corrupts the file.
///
/// **Schema.** Opening applies any missing schema migrations, each in its own transaction,
/// and refuses a catalog written by a newer build (``CatalogError/Code/schemaTooNew``)
/// without modifying it. Dates are stored as whole milliseconds since 1970 UTC.
///
/// Every method either completes fully or changes nothing. Errors are ``CatalogError``s whose
/// message starts with what the catalog was doing.
package final class Catalog: Sendable {
    /// The schema version this build creates and understands.
    package static var latestSchemaVersion: Int { Int(CatalogSchema.latestVersion) }

    /// The catalog's file.
    package let path: String
    private let connection: Mutex<SQLiteDatabase>

    /// Opens the catalog at `path`, creating the file if needed and migrating it to
    /// ``latestSchemaVersion``.
    ///
    /// - Parameters:
    ///   - path: the database file; `-wal` and `-shm` files appear beside it.
    ///   - busyTimeout: how long a write waits for another process's lock.
    /// - Throws: ``CatalogError`` with code `.corrupt` (the file is not SQLite or is damaged;
    ///   the message names the path), `.notACatalog` (another application's database),
    ///   `.schemaTooNew` (written by a newer build; left unchanged), `.io` (cannot open or
    ///   write the file, or WAL is unavailable there).
    package init(path: String, busyTimeout: Duration = .seconds(5)) throws {
        let database = try Self.openDatabase(at: path, busyTimeout: busyTimeout)
        self.path = path
        self.connection = Mutex(database)
    }

    /// Opens the catalog at `path`; the same as ``init(path:busyTimeout:)``.
    package static func open(
        at path: String, busyTimeout: Duration = .seconds(5)
    ) throws
        -> Catalog
    {
        try Catalog(path: path, busyTimeout: busyTimeout)
    }

    /// The schema version stored in the file (``latestSchemaVersion`` once opened).
    package func schemaVersion() throws -> Int {
        try withDatabase("read the schema version") { Int(try $0.integerPragma("user_version")) }
    }

    // MARK: Agents and components

    /// Records that agent `name` was seen at `seenAt`, adding it if it is new.
    ///
    /// Keeps the earliest first-seen and the latest last-seen date, so calls may arrive out
    /// of order. Does not change ``AgentRecord/isRevoked``.
    package func recordAgent(name: String, seenAt: Date) throws {
        let milliseconds = SQLiteValue.integer(seenAt.catalogMilliseconds)
        try withDatabase("record agent \(name)") { database in
            try database.execute(
                """
                INSERT INTO agents (name, first_seen, last_seen) VALUES (?, ?, ?)
                ON CONFLICT (name) DO UPDATE SET
                    first_seen = min(first_seen, excluded.first_seen),
                    last_seen = max(last_seen, excluded.last_seen)
                """,
                [.text(name), milliseconds, milliseconds])
        }
    }

    /// Marks agent `name` revoked or not.
    ///
    /// - Throws: ``CatalogError/Code/notFound`` when the agent was never recorded.
    package func setRevoked(agent name: String, isRevoked: Bool) throws {
        try withDatabase("set agent \(name) revoked to \(isRevoked)") { database in
            let changed = try database.execute(
                "UPDATE agents SET revoked = ? WHERE name = ?",
                [.integer(isRevoked ? 1 : 0), .text(name)])
            guard changed == 1 else { throw CatalogError(.notFound, "no such agent") }
        }
    }

    /// The agent called `name`, or nil.
    package func agent(named name: String) throws -> AgentRecord? {
        try withDatabase("read agent \(name)") { database in
            try database.query(
                "SELECT name, first_seen, last_seen, revoked FROM agents WHERE name = ?",
                [.text(name)], row: AgentRecord.init(row:)
            ).first
        }
    }

    /// Every recorded agent, by name.
    package func agents() throws -> [AgentRecord] {
        try withDatabase("list agents") { database in
            try database.query(
                "SELECT name, first_seen, last_seen, revoked FROM agents ORDER BY name",
                row: AgentRecord.init(row:))
        }
    }

    /// Adds component `name` of `agent`, or updates its kind if it exists.
    ///
    /// - Throws: ``CatalogError/Code/constraint`` when the agent was never recorded.
    package func upsertComponent(agent: String, name: String, kind: String) throws {
        try withDatabase("record component \(agent)/\(name)") { database in
            try database.execute(
                """
                INSERT INTO components (agent, name, kind) VALUES (?, ?, ?)
                ON CONFLICT (agent, name) DO UPDATE SET kind = excluded.kind
                """,
                [.text(agent), .text(name), .text(kind)])
        }
    }

    /// The components of `agent` (of every agent when nil), by agent and name.
    package func components(agent: String? = nil) throws -> [ComponentRecord] {
        try withDatabase("list components") { database in
            try database.query(
                """
                SELECT agent, name, kind FROM components
                WHERE ?1 IS NULL OR agent = ?1 ORDER BY agent, name
                """,
                [.optional(agent)]
            ) { row in
                ComponentRecord(
                    agent: try row.string(0), name: try row.string(1), kind: try row.string(2))
            }
        }
    }

    // MARK: Internals shared by the extensions

    /// Runs `body` holding the connection; errors get `context` in front of their message.
    @discardableResult
    func withDatabase<Result: Sendable>(
        _ context: @autoclosure () -> String, _ body: (SQLiteDatabase) throws -> Result
    ) throws -> Result {
        do {
            return try connection.withLock { database in try body(database) }
        } catch let error as CatalogError {
            // Damage is reported with the file, so an operator knows which one to restore.
            let location = error.code == .corrupt ? " (catalog \(path))" : ""
            throw error.adding(context: context() + location)
        }
    }

    private static func openDatabase(
        at path: String, busyTimeout: Duration
    ) throws
        -> SQLiteDatabase
    {
        let database = try SQLiteDatabase(path: path, busyTimeout: busyTimeout)
        do {
            // Only reads until the version is known to be one this build understands.
            try checkIdentity(of: database)
            try SchemaMigrator.checkVersion(of: database, against: CatalogSchema.migrations)
            try configure(database)
            try SchemaMigrator.migrate(database, with: CatalogSchema.migrations)
            return database
        } catch let error as CatalogError {
            switch error.code {
            case .corrupt:
                throw CatalogError(
                    .corrupt, "\(path) is not a SQLite database or is damaged", cause: error)
            case .schemaTooNew, .notACatalog:
                throw error
            default:
                throw error.adding(context: "open the catalog \(path)")
            }
        }
    }

    /// Accepts a catalog (our application ID) or an empty database; refuses anything else.
    private static func checkIdentity(of database: SQLiteDatabase) throws {
        let applicationID = try database.integerPragma("application_id")
        if applicationID == CatalogSchema.applicationID { return }
        let version = try database.integerPragma("user_version")
        let objects = try database.query("SELECT count(*) FROM sqlite_schema") {
            try $0.int64(0)
        }
        guard applicationID == 0, version == 0, objects == [0] else {
            throw CatalogError(
                .notACatalog,
                "\(database.path) is a SQLite database but not a Zentoria catalog "
                    + "(application ID \(applicationID), user version \(version), "
                    + "\(objects.first ?? 0) schema objects)")
        }
    }

    private static func configure(_ database: SQLiteDatabase) throws {
        let mode = try database.query("PRAGMA journal_mode = WAL") { try $0.string(0) }
        guard mode == ["wal"] else {
            throw CatalogError(
                .io,
                "cannot use write-ahead logging (journal mode stays \(mode.first ?? "unknown")); "
                    + "is the file on a network filesystem?")
        }
        try database.execute("PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON")
        guard try database.integerPragma("foreign_keys") == 1 else {
            throw CatalogError(.misuse, "the SQLite library does not enforce foreign keys")
        }
    }
}

extension AgentRecord {
    /// Reads `name, first_seen, last_seen, revoked`.
    init(row: SQLiteStatement) throws {
        self.init(
            name: try row.string(0),
            firstSeen: Date(catalogMilliseconds: try row.int64(1)),
            lastSeen: Date(catalogMilliseconds: try row.int64(2)),
            isRevoked: try row.int64(3) != 0)
    }
}

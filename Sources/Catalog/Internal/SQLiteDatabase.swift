import CSQLite

/// One SQLite connection: a thin wrapper that turns every result code into a ``CatalogError``
/// and never leaks a statement.
///
/// Not `Sendable` and not locked: the connection is opened with `SQLITE_OPEN_NOMUTEX`
/// (SQLite's multi-thread mode), so exactly one thread may use it at a time. ``Catalog`` keeps
/// it inside a `Mutex`, which is the only lock; SQLite's own per-connection mutex
/// (`SQLITE_OPEN_FULLMUTEX`) would only be a second lock taken under the first.
///
/// Opening only connects and sets the busy timeout; it reads nothing from the file, so the
/// caller can inspect the header before anything (such as the journal mode) is written.
final class SQLiteDatabase {
    /// The oldest SQLite whose features the catalog uses (`STRICT` tables arrived in 3.37.0).
    static let minimumLibraryVersion: Int32 = 3_037_000

    /// The file this connection opened, for messages.
    let path: String
    private let handle: OpaquePointer
    /// Prepared statements by SQL text; reset after every use.
    private var statements: [String: SQLiteStatement] = [:]
    private var savepointDepth = 0

    /// Opens (creating if needed) the database at `path`.
    ///
    /// - Parameters:
    ///   - path: a file path; URIs are not interpreted.
    ///   - busyTimeout: how long a statement waits for another connection's lock before
    ///     failing with ``CatalogError/Code/busy``.
    /// - Throws: ``CatalogError`` `.io` when the file cannot be opened or created, `.misuse`
    ///   when the SQLite library is too old or built without thread support.
    init(path: String, busyTimeout: Duration) throws {
        guard sqlite3_threadsafe() != 0 else {
            throw CatalogError(.misuse, "the SQLite library was built without thread support")
        }
        guard sqlite3_libversion_number() >= Self.minimumLibraryVersion else {
            let found = String(cString: sqlite3_libversion())
            throw CatalogError(.misuse, "SQLite \(found) is too old; 3.37.0 or newer is needed")
        }
        var connection: OpaquePointer?
        let flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX
        let result = sqlite3_open_v2(path, &connection, flags, nil)
        guard result == SQLITE_OK, let connection else {
            let error = CatalogError(sqliteResult: result, connection: connection)
            sqlite3_close_v2(connection)
            throw error.adding(context: "cannot open \(path)")
        }
        sqlite3_extended_result_codes(connection, 1)
        let (seconds, attoseconds) = busyTimeout.components
        let milliseconds = seconds * 1000 + attoseconds / 1_000_000_000_000_000
        sqlite3_busy_timeout(connection, Int32(clamping: max(0, milliseconds)))
        self.path = path
        self.handle = connection
    }

    deinit {
        statements.removeAll()
        // close_v2 defers the close until any statement still alive is finalized.
        sqlite3_close_v2(handle)
    }

    /// Runs one or more statements without parameters or results (schema scripts, pragmas).
    func execute(_ script: String) throws {
        let result = sqlite3_exec(handle, script, nil, nil, nil)
        guard result == SQLITE_OK else {
            throw CatalogError(sqliteResult: result, connection: handle)
        }
    }

    /// Runs one statement with `values` bound to its parameters, discarding result rows.
    ///
    /// - Returns: the number of rows the statement inserted, updated or deleted.
    @discardableResult
    func execute(_ sql: String, _ values: [SQLiteValue]) throws -> Int {
        try withStatement(sql) { statement in
            try statement.bind(values)
            while try statement.step() {}
            return Int(sqlite3_changes64(handle))
        }
    }

    /// Runs one statement and maps each result row with `row`.
    func query<Row>(
        _ sql: String, _ values: [SQLiteValue] = [], row: (SQLiteStatement) throws -> Row
    ) throws -> [Row] {
        try withStatement(sql) { statement in
            try statement.bind(values)
            var rows: [Row] = []
            while try statement.step() {
                rows.append(try row(statement))
            }
            return rows
        }
    }

    /// Lends the prepared statement for `sql`, prepared once and kept for reuse.
    ///
    /// The statement is reset and its bindings cleared when `body` returns or throws, so it
    /// holds no lock afterwards. A nested use of the same SQL gets a fresh statement.
    func withStatement<Result>(
        _ sql: String, _ body: (SQLiteStatement) throws -> Result
    ) throws -> Result {
        let statement: SQLiteStatement
        if let cached = statements[sql], !cached.isInUse {
            statement = cached
        } else if statements[sql] != nil {
            statement = try SQLiteStatement(sql: sql, connection: handle, persistent: false)
        } else {
            statement = try SQLiteStatement(sql: sql, connection: handle, persistent: true)
            statements[sql] = statement
        }
        statement.isInUse = true
        defer {
            statement.reset()
            statement.isInUse = false
        }
        return try body(statement)
    }

    /// Runs `body` atomically: commits when it returns, rolls back when it throws.
    ///
    /// The outermost call uses `BEGIN IMMEDIATE`, taking the write lock up front so that two
    /// connections never deadlock upgrading read locks; a nested call becomes a savepoint
    /// whose changes roll back on their own when its body throws.
    func transaction<Result>(_ body: () throws -> Result) throws -> Result {
        if isInTransaction {
            savepointDepth += 1
            defer { savepointDepth -= 1 }
            let name = "nested_\(savepointDepth)"
            try execute("SAVEPOINT \(name)")
            do {
                let result = try body()
                try execute("RELEASE \(name)")
                return result
            } catch {
                if isInTransaction {
                    try? execute("ROLLBACK TO \(name); RELEASE \(name)")
                }
                throw error
            }
        }
        try execute("BEGIN IMMEDIATE")
        do {
            let result = try body()
            try execute("COMMIT")
            return result
        } catch {
            // After some errors (disk full, I/O) SQLite has rolled back already.
            if isInTransaction {
                try? execute("ROLLBACK")
            }
            throw error
        }
    }

    /// Whether a transaction is open on this connection.
    var isInTransaction: Bool { sqlite3_get_autocommit(handle) == 0 }

    /// The row ID of the most recent successful `INSERT` on this connection.
    var lastInsertRowID: Int64 { sqlite3_last_insert_rowid(handle) }

    /// Reads an integer pragma such as `user_version`.
    func integerPragma(_ name: String) throws -> Int64 {
        precondition(name.allSatisfy { $0.isLetter || $0 == "_" }, "bad pragma name \(name)")
        let rows = try query("PRAGMA \(name)") { try $0.int64(0) }
        guard let value = rows.first else {
            throw CatalogError(.misuse, "PRAGMA \(name) returned no row")
        }
        return value
    }

    /// Sets an integer pragma; inside a transaction, header values such as `user_version`
    /// change only when it commits.
    func setIntegerPragma(_ name: String, _ value: Int64) throws {
        precondition(name.allSatisfy { $0.isLetter || $0 == "_" }, "bad pragma name \(name)")
        // Pragmas take no parameters, so the integer is formatted into the text.
        try execute("PRAGMA \(name) = \(value)")
    }
}

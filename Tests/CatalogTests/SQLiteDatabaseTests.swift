// The SQLite wrapper and the migrator are internal to Catalog (the coordinator must not run
// raw SQL), so their own tests need @testable; every other suite uses the package API.

import Foundation
import TestSupport
import Testing

@testable import Catalog

@Suite("SQLite wrapper")
struct SQLiteDatabaseTests {
    private func withDatabase(_ body: (SQLiteDatabase) throws -> Void) async throws {
        try await withTemporaryDirectory { directory in
            try body(SQLiteDatabase(path: "\(directory)/test.db", busyTimeout: .seconds(1)))
        }
    }

    @Test("every storage class round-trips through binding and typed reads")
    func valuesRoundTrip() async throws {
        try await withDatabase { database in
            try database.execute("CREATE TABLE t (n INTEGER, v ANY) STRICT")
            let values: [SQLiteValue] = [
                .null, .integer(0), .integer(.min), .integer(.max), .real(-2.5), .real(1e300),
                .text(""), .text("zß🙂"), .text("nul\0inside"), .blob([]), .blob([0, 1, 255]),
            ]
            for (index, value) in values.enumerated() {
                try database.execute(
                    "INSERT INTO t VALUES (?, ?)", [.integer(Int64(index)), value])
            }
            let read = try database.query("SELECT v FROM t ORDER BY n") { $0.value(0) }
            #expect(read == values)

            let typed = try database.query(
                "SELECT ?, ?, ?, ?, ?",
                [.integer(42), .real(0.25), .text("text"), .blob([9, 8]), .null]
            ) { (row: SQLiteStatement) throws -> Int in
                #expect(try row.int64(0) == 42)
                #expect(try row.double(1) == 0.25)
                #expect(try row.double(0) == 42)
                #expect(try row.string(2) == "text")
                #expect(try row.blob(3) == [9, 8])
                #expect(try row.optionalInt64(4) == nil)
                #expect(try row.optionalString(4) == nil)
                #expect(try row.optionalString(2) == "text")
                #expect(row.isNull(4))
                return row.columnCount
            }
            #expect(typed == [5])
        }
    }

    @Test("a typed read of another storage class fails with .corrupt instead of converting")
    func typedReadsAreStrict() async throws {
        try await withDatabase { database in
            _ = try database.query("SELECT 1 AS number, NULL AS empty, 'x' AS word") {
                (row: SQLiteStatement) throws in
                let error = #expect(throws: CatalogError.self) { try row.string(0) }
                #expect(error?.code == .corrupt)
                #expect(error?.message.contains("number") == true)
                #expect(throws: CatalogError.corrupt) { try row.int64(1) }
                #expect(throws: CatalogError.corrupt) { try row.int64(2) }
                #expect(throws: CatalogError.corrupt) { try row.blob(2) }
                #expect(throws: CatalogError.corrupt) { try row.double(2) }
            }
        }
    }

    @Test("a transaction commits on return and rolls back on throw; a nested one alone")
    func transactions() async throws {
        struct Abort: Error {}
        try await withDatabase { database in
            try database.execute("CREATE TABLE t (v INTEGER NOT NULL) STRICT")
            try database.transaction { _ = try database.execute("INSERT INTO t VALUES (1)", []) }

            #expect(throws: Abort.self) {
                try database.transaction {
                    try database.execute("INSERT INTO t VALUES (2)", [])
                    throw Abort()
                }
            }
            #expect(!database.isInTransaction)

            try database.transaction {
                try database.execute("INSERT INTO t VALUES (3)", [])
                #expect(throws: Abort.self) {
                    try database.transaction {
                        try database.execute("INSERT INTO t VALUES (4)", [])
                        throw Abort()
                    }
                }
                try database.execute("INSERT INTO t VALUES (5)", [])
            }

            #expect(throws: CatalogError.constraint) {
                try database.transaction {
                    try database.execute("INSERT INTO t VALUES (6)", [])
                    try database.execute("INSERT INTO t VALUES (NULL)", [])
                }
            }
            let rows = try database.query("SELECT v FROM t ORDER BY v") { try $0.int64(0) }
            #expect(rows == [1, 3, 5])
        }
    }

    @Test("a unique constraint violation surfaces as .constraint with SQLite's message")
    func uniqueViolation() async throws {
        try await withDatabase { database in
            try database.execute("CREATE TABLE t (name TEXT PRIMARY KEY) STRICT")
            try database.execute("INSERT INTO t VALUES (?)", [.text("a")])
            let error = #expect(throws: CatalogError.self) {
                try database.execute("INSERT INTO t VALUES (?)", [.text("a")])
            }
            #expect(error?.code == .constraint)
            #expect(error?.message.contains("UNIQUE constraint failed: t.name") == true)
            // The statement was reset: the connection is usable and holds no transaction.
            #expect(!database.isInTransaction)
            try database.execute("INSERT INTO t VALUES (?)", [.text("b")])
        }
    }

    @Test("misuse is reported, not crashed on: wrong parameter count, two statements, bad SQL")
    func misuse() async throws {
        try await withDatabase { database in
            #expect(throws: CatalogError.misuse) { try database.execute("SELECT ?", []) }
            #expect(throws: CatalogError.misuse) { try database.execute("SELECT 1; SELECT 2", []) }
            #expect(throws: CatalogError.misuse) { try database.execute("-- nothing", []) }
            let error = #expect(throws: CatalogError.self) {
                try database.execute("SELEKT 1", [])
            }
            #expect(error?.code == .sqlite)
            #expect(error?.message.contains("syntax error") == true)
        }
    }

    @Test("a statement in use can be used again from inside its own row callback")
    func nestedUseOfOneStatement() async throws {
        try await withDatabase { database in
            let sql = "SELECT value FROM json_each(?)"
            let pairs = try database.query(sql, [.text("[1,2]")]) { outer in
                let inner = try database.query(sql, [.text("[10,20]")]) { try $0.int64(0) }
                return inner.map { try! outer.int64(0) + $0 }
            }
            #expect(pairs == [[11, 21], [12, 22]])
        }
    }
}

extension CatalogError {
    /// Errors compare by code, so any error with the code matches these in `#expect(throws:)`.
    fileprivate static let corrupt = CatalogError(.corrupt, "")
    fileprivate static let constraint = CatalogError(.constraint, "")
    fileprivate static let misuse = CatalogError(.misuse, "")
}

@Suite("Schema migrator")
struct SchemaMigratorTests {
    private struct Broken: Error {}

    private static let one = SchemaMigration(
        version: 1, summary: "a", sql: "CREATE TABLE a (v INTEGER) STRICT")
    private static let two = SchemaMigration(
        version: 2, summary: "b", sql: "CREATE TABLE b (v INTEGER) STRICT; INSERT INTO a VALUES (2)"
    )
    private static let brokenThree = SchemaMigration(version: 3, summary: "c") { database in
        try database.execute("CREATE TABLE c (v INTEGER) STRICT")
        throw CatalogError(.sqlite, "simulated failure")
    }
    private static let three = SchemaMigration(
        version: 3, summary: "c", sql: "CREATE TABLE c (v INTEGER) STRICT")

    private func tables(_ database: SQLiteDatabase) throws -> [String] {
        try database.query("SELECT name FROM sqlite_schema WHERE type = 'table' ORDER BY name") {
            try $0.string(0)
        }
    }

    @Test("only missing migrations run, in order; a failing one leaves the previous version")
    func appliesMissingOnes() async throws {
        try await withTemporaryDirectory { directory in
            let database = try SQLiteDatabase(path: "\(directory)/m.db", busyTimeout: .seconds(1))
            #expect(try SchemaMigrator.migrate(database, with: [Self.one]) == [1])
            #expect(try SchemaMigrator.migrate(database, with: [Self.one]) == [])

            let error = #expect(throws: CatalogError.self) {
                try SchemaMigrator.migrate(database, with: [Self.one, Self.two, Self.brokenThree])
            }
            #expect(error?.message.contains("schema migration 3 (c)") == true)
            #expect(try database.integerPragma("user_version") == 2)
            #expect(try tables(database) == ["a", "b"])

            #expect(
                try SchemaMigrator.migrate(database, with: [Self.one, Self.two, Self.three]) == [3])
            #expect(try database.integerPragma("user_version") == 3)
            #expect(try tables(database) == ["a", "b", "c"])
            #expect(try database.query("SELECT v FROM a") { try $0.int64(0) } == [2])
        }
    }

    @Test("a database newer than the list is refused before anything is written")
    func refusesNewer() async throws {
        try await withTemporaryDirectory { directory in
            let database = try SQLiteDatabase(path: "\(directory)/m.db", busyTimeout: .seconds(1))
            try SchemaMigrator.migrate(database, with: [Self.one, Self.two])
            let error = #expect(throws: CatalogError.self) {
                try SchemaMigrator.migrate(database, with: [Self.one])
            }
            #expect(error?.code == .schemaTooNew)
            #expect(try database.integerPragma("user_version") == 2)
        }
    }
}

@Suite("Catalog schema upgrades")
struct CatalogSchemaUpgradeTests {
    @Test("a version-1 catalog keeps its jobs when upgraded, and then takes sync jobs")
    func versionOneToTwo() async throws {
        try await withTemporaryDirectory { directory in
            let path = "\(directory)/catalog.db"
            do {
                let database = try SQLiteDatabase(path: path, busyTimeout: .seconds(1))
                try SchemaMigrator.migrate(
                    database, with: Array(CatalogSchema.migrations.prefix(1)))
                try database.execute(
                    """
                    INSERT INTO agents VALUES ('db', 1, 2, 0);
                    INSERT INTO jobs (agent, component, kind, "trigger", state, scheduled_for,
                        started_at, ended_at, bytes_read, snapshot_id)
                    VALUES ('db', 'pg', 'backup', 'schedule', 'succeeded', 10, 11, 12, 4096, 'ab');
                    """)
                #expect(throws: CatalogError.self) {
                    try database.execute(
                        """
                        INSERT INTO jobs (agent, component, kind, "trigger", state, scheduled_for)
                        VALUES ('db', 'pg', 'sync', 'schedule', 'queued', 13)
                        """)
                }
            }
            let catalog = try Catalog.open(at: path)
            #expect(try catalog.schemaVersion() == 2)
            let old = try catalog.jobs()
            #expect(old.count == 1)
            #expect(old.first?.bytesRead == 4096 && old.first?.snapshotID == "ab")
            let id = try catalog.insertJob(
                agent: "db", component: "pg", kind: .sync, trigger: .schedule,
                scheduledFor: Date())
            #expect(try catalog.job(id)?.kind == .sync)
        }
    }
}

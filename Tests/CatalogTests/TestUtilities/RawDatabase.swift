@testable import Catalog

/// Direct SQL on a catalog file, bypassing `Catalog`, to set up and inspect states that the
/// API cannot produce (a future schema version, another application's tables).
enum RawDatabase {
    /// Runs a script on its own connection, closed before this returns.
    static func execute(_ path: String, _ script: String) throws {
        try SQLiteDatabase(path: path, busyTimeout: .seconds(5)).execute(script)
    }

    /// The first column of every row of `sql`, as integers.
    static func integers(_ path: String, _ sql: String) throws -> [Int64] {
        try SQLiteDatabase(path: path, busyTimeout: .seconds(5)).query(sql) { try $0.int64(0) }
    }

    /// The first column of every row of `sql`, as text.
    static func strings(_ path: String, _ sql: String) throws -> [String] {
        try SQLiteDatabase(path: path, busyTimeout: .seconds(5)).query(sql) { try $0.string(0) }
    }
}

import CSQLite

/// One prepared SQLite statement, finalized when the object goes away.
///
/// Not `Sendable`: it belongs to its ``SQLiteDatabase`` and is used only by whoever holds that
/// connection. Obtain one through ``SQLiteDatabase/withStatement(_:_:)``, which resets it
/// afterwards so no statement keeps a read transaction open.
///
/// Column readers are typed and throw ``CatalogError/Code/corrupt`` when the stored value has
/// another type (or is NULL where a value is required), rather than converting silently.
/// Column indexes start at 0, parameter indexes at 1, as in SQLite.
final class SQLiteStatement {
    private let handle: OpaquePointer
    /// Set while a caller uses the statement, so a nested use of the same SQL gets its own.
    var isInUse = false

    /// Compiles `sql`, which must hold exactly one statement.
    init(sql: String, connection: OpaquePointer, persistent: Bool) throws {
        var statement: OpaquePointer?
        var trailing = ""
        let flags = persistent ? UInt32(SQLITE_PREPARE_PERSISTENT) : 0
        let result = sql.withCString { text in
            var tail: UnsafePointer<CChar>?
            let result = sqlite3_prepare_v3(connection, text, -1, flags, &statement, &tail)
            if let tail { trailing = String(cString: tail) }
            return result
        }
        guard result == SQLITE_OK else {
            sqlite3_finalize(statement)
            throw CatalogError(sqliteResult: result, connection: connection)
        }
        guard let statement else {
            throw CatalogError(.misuse, "no SQL statement in: \(sql)")
        }
        guard trailing.allSatisfy(\.isWhitespace) else {
            sqlite3_finalize(statement)
            throw CatalogError(.misuse, "more than one SQL statement in: \(sql)")
        }
        handle = statement
    }

    deinit {
        sqlite3_finalize(handle)
    }

    /// The number of `?` parameters in the statement.
    var parameterCount: Int { Int(sqlite3_bind_parameter_count(handle)) }

    /// Binds `values` to parameters 1...n; their number must match the statement's.
    func bind(_ values: [SQLiteValue]) throws {
        guard values.count == parameterCount else {
            throw CatalogError(
                .misuse, "\(values.count) values for \(parameterCount) parameters in: \(sql)")
        }
        for (offset, value) in values.enumerated() {
            try bind(value, at: Int32(offset + 1))
        }
    }

    /// Binds one value; SQLite copies text and blobs before this returns.
    func bind(_ value: SQLiteValue, at index: Int32) throws {
        let result: Int32
        switch value {
        case .null:
            result = sqlite3_bind_null(handle, index)
        case .integer(let number):
            result = sqlite3_bind_int64(handle, index, number)
        case .real(let number):
            result = sqlite3_bind_double(handle, index, number)
        case .text(let text):
            var text = text
            result = text.withUTF8 { bytes in
                // A NULL pointer would bind NULL, so the empty string gets a real one.
                guard let base = bytes.baseAddress, !bytes.isEmpty else {
                    return sqlite3_bind_text(handle, index, "", 0, csqlite_transient())
                }
                return base.withMemoryRebound(to: CChar.self, capacity: bytes.count) {
                    sqlite3_bind_text64(
                        handle, index, $0, UInt64(bytes.count), csqlite_transient(),
                        UInt8(SQLITE_UTF8))
                }
            }
        case .blob(let bytes):
            result = bytes.withUnsafeBytes { raw in
                // As for text: a NULL pointer would bind NULL instead of an empty blob.
                guard let base = raw.baseAddress, !raw.isEmpty else {
                    return sqlite3_bind_zeroblob(handle, index, 0)
                }
                return sqlite3_bind_blob64(
                    handle, index, base, UInt64(raw.count), csqlite_transient())
            }
        }
        guard result == SQLITE_OK else {
            throw CatalogError(sqliteResult: result, connection: sqlite3_db_handle(handle))
        }
    }

    /// Advances to the next row.
    ///
    /// - Returns: `true` when a row is available, `false` when the statement is done.
    /// - Throws: ``CatalogError`` classified from SQLite's result (`.constraint`, `.busy`…).
    func step() throws -> Bool {
        let result = sqlite3_step(handle)
        switch result {
        case SQLITE_ROW: return true
        case SQLITE_DONE: return false
        default: throw CatalogError(sqliteResult: result, connection: sqlite3_db_handle(handle))
        }
    }

    /// Makes the statement ready to run again and drops its bindings.
    func reset() {
        // The result repeats the last step's error, which that step already reported.
        sqlite3_reset(handle)
        sqlite3_clear_bindings(handle)
    }

    /// The statement's SQL text, for messages.
    var sql: String { sqlite3_sql(handle).map { String(cString: $0) } ?? "" }

    /// The number of columns in a result row.
    var columnCount: Int { Int(sqlite3_column_count(handle)) }

    /// The column's name, for messages.
    func columnName(_ column: Int32) -> String {
        sqlite3_column_name(handle, column).map { String(cString: $0) } ?? "#\(column)"
    }

    /// Whether the column holds NULL in the current row.
    func isNull(_ column: Int32) -> Bool {
        sqlite3_column_type(handle, column) == SQLITE_NULL
    }

    /// The column's value in whatever storage class it has.
    func value(_ column: Int32) -> SQLiteValue {
        switch sqlite3_column_type(handle, column) {
        case SQLITE_INTEGER: .integer(sqlite3_column_int64(handle, column))
        case SQLITE_FLOAT: .real(sqlite3_column_double(handle, column))
        case SQLITE3_TEXT: .text(readText(column))
        case SQLITE_BLOB: .blob(readBlob(column))
        default: .null
        }
    }

    /// The column as an integer.
    func int64(_ column: Int32) throws -> Int64 {
        try expect(SQLITE_INTEGER, "an integer", column)
        return sqlite3_column_int64(handle, column)
    }

    /// The column as an integer, or nil when it is NULL.
    func optionalInt64(_ column: Int32) throws -> Int64? {
        isNull(column) ? nil : try int64(column)
    }

    /// The column as a floating-point number; integers are converted.
    func double(_ column: Int32) throws -> Double {
        let type = sqlite3_column_type(handle, column)
        guard type == SQLITE_FLOAT || type == SQLITE_INTEGER else {
            throw mismatch("a number", column)
        }
        return sqlite3_column_double(handle, column)
    }

    /// The column as text.
    func string(_ column: Int32) throws -> String {
        try expect(SQLITE3_TEXT, "text", column)
        return readText(column)
    }

    /// The column as text, or nil when it is NULL.
    func optionalString(_ column: Int32) throws -> String? {
        isNull(column) ? nil : try string(column)
    }

    /// The column as bytes.
    func blob(_ column: Int32) throws -> [UInt8] {
        try expect(SQLITE_BLOB, "a blob", column)
        return readBlob(column)
    }

    private func expect(_ type: Int32, _ description: String, _ column: Int32) throws {
        guard sqlite3_column_type(handle, column) == type else {
            throw mismatch(description, column)
        }
    }

    private func mismatch(_ expected: String, _ column: Int32) -> CatalogError {
        let found =
            switch value(column) {
            case .null: "NULL"
            case .integer: "an integer"
            case .real: "a real number"
            case .text: "text"
            case .blob: "a blob"
            }
        return CatalogError(
            .corrupt, "column \(columnName(column)) holds \(found) where \(expected) belongs")
    }

    private func readText(_ column: Int32) -> String {
        // sqlite3_column_text first, then sqlite3_column_bytes, as SQLite's docs require.
        guard let text = sqlite3_column_text(handle, column) else { return "" }
        let count = Int(sqlite3_column_bytes(handle, column))
        return String(decoding: UnsafeBufferPointer(start: text, count: count), as: UTF8.self)
    }

    private func readBlob(_ column: Int32) -> [UInt8] {
        guard let bytes = sqlite3_column_blob(handle, column) else { return [] }
        let count = Int(sqlite3_column_bytes(handle, column))
        return Array(UnsafeRawBufferPointer(start: bytes, count: count))
    }
}

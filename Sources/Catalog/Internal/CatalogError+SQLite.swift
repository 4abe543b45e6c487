import CSQLite

extension CatalogError {
    /// Classifies a failed SQLite call by its primary result code and keeps SQLite's own words.
    ///
    /// - Parameters:
    ///   - result: the (extended) result code the call returned.
    ///   - connection: the connection whose `sqlite3_errmsg` describes the failure, if any.
    init(
        sqliteResult result: Int32, connection: OpaquePointer?,
        file: String = #fileID, line: Int = #line
    ) {
        let detail =
            connection.map { String(cString: sqlite3_errmsg($0)) }
            ?? String(cString: sqlite3_errstr(result))
        self.init(
            Code(sqliteResult: result), "\(detail) (SQLite result \(result))",
            file: file, line: line)
    }
}

extension CatalogError.Code {
    init(sqliteResult result: Int32) {
        switch result & 0xff {
        case SQLITE_CONSTRAINT: self = .constraint
        case SQLITE_CORRUPT, SQLITE_NOTADB: self = .corrupt
        case SQLITE_IOERR, SQLITE_CANTOPEN, SQLITE_FULL, SQLITE_READONLY, SQLITE_PERM:
            self = .io
        case SQLITE_BUSY, SQLITE_LOCKED: self = .busy
        case SQLITE_MISUSE, SQLITE_RANGE: self = .misuse
        default: self = .sqlite
        }
    }
}

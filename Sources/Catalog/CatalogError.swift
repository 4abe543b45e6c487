/// The one error the catalog throws.
///
/// Equality is by ``code`` only, so callers and tests match on the code and a new code breaks
/// no caller. Errors that come from SQLite carry its message and extended result code in
/// ``message``.
package struct CatalogError: Error, Hashable, CustomStringConvertible {
    package struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Value: Hashable, Sendable {
            case io, corrupt, notACatalog, schemaTooNew, constraint, busy, notFound
            case invalidState, invalidArgument, misuse, sqlite
        }
        private let value: Value
        /// The file cannot be opened, read or written (permissions, disk full, I/O failure).
        package static let io = Code(value: .io)
        /// The file is not a SQLite database, or the database or a value in it is damaged.
        package static let corrupt = Code(value: .corrupt)
        /// The file is a healthy SQLite database that belongs to another application.
        package static let notACatalog = Code(value: .notACatalog)
        /// The catalog was written by a newer build; it was not modified.
        package static let schemaTooNew = Code(value: .schemaTooNew)
        /// A `UNIQUE`, `PRIMARY KEY`, `FOREIGN KEY`, `NOT NULL` or `CHECK` constraint failed.
        package static let constraint = Code(value: .constraint)
        /// Another connection held the database for longer than the busy timeout.
        package static let busy = Code(value: .busy)
        /// The agent or job named in the call does not exist.
        package static let notFound = Code(value: .notFound)
        /// The job is not in a state that allows the requested transition.
        package static let invalidState = Code(value: .invalidState)
        /// A parameter is out of range or inconsistent with another one.
        package static let invalidArgument = Code(value: .invalidArgument)
        /// The SQLite library or API was used wrongly: a bug in this module.
        package static let misuse = Code(value: .misuse)
        /// Any other SQLite failure (for example out of memory); see the message.
        package static let sqlite = Code(value: .sqlite)

        package var description: String {
            switch value {
            case .io: "I/O error"
            case .corrupt: "corrupt catalog"
            case .notACatalog: "not a catalog"
            case .schemaTooNew: "catalog schema too new"
            case .constraint: "constraint violation"
            case .busy: "catalog busy"
            case .notFound: "not found"
            case .invalidState: "invalid state"
            case .invalidArgument: "invalid argument"
            case .misuse: "SQLite misuse"
            case .sqlite: "SQLite error"
            }
        }
    }

    package var code: Code
    package var message: String
    package var cause: (any Error)?
    package var location: String

    package init(
        _ code: Code, _ message: String, cause: (any Error)? = nil,
        file: String = #fileID, line: Int = #line
    ) {
        (self.code, self.message, self.cause) = (code, message, cause)
        self.location = "\(file):\(line)"
    }

    package static func == (a: Self, b: Self) -> Bool { a.code == b.code }
    package func hash(into h: inout Hasher) { h.combine(code) }
    package var description: String {
        "\(code): \(message)" + (cause.map { " (cause: \($0))" } ?? "")
    }

    /// The same error with `context` (what the catalog was doing) in front of the message.
    func adding(context: String) -> CatalogError {
        var copy = self
        copy.message = "\(context): \(message)"
        return copy
    }
}

/// The one error a ``BlobStore`` throws. Backends classify failures at the source.
///
/// Equality is by ``code`` only, so tests match by code and adding a code breaks no caller.
package struct StorageError: Error, Hashable, CustomStringConvertible {
    package struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Value: Hashable, Sendable {
            case notFound, alreadyExists, transient, permanent, unauthorized, noSpace
        }
        private let value: Value
        /// The object does not exist.
        package static let notFound = Code(value: .notFound)
        /// A `put` found an object of that name already there; nothing was changed.
        package static let alreadyExists = Code(value: .alreadyExists)
        /// Worth retrying: a timeout, throttling, a 5xx.
        package static let transient = Code(value: .transient)
        /// Not worth retrying: malformed request, I/O error, a bug.
        package static let permanent = Code(value: .permanent)
        /// Credentials or permissions refused.
        package static let unauthorized = Code(value: .unauthorized)
        /// The backend is out of space or quota.
        package static let noSpace = Code(value: .noSpace)
        package var description: String { "\(value)" }
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
}

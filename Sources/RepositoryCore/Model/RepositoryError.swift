/// The one error the repository layer throws.
///
/// Equality is by ``code`` only. An ``Code/integrity`` error is never retried or downgraded.
package struct RepositoryError: Error, Hashable, CustomStringConvertible {
    package struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Value: Hashable, Sendable {
            case wrongPassword, unsupportedVersion, integrity, malformed, notARepository
            case alreadyInitialized, snapshotNotFound, ambiguousSnapshot, locked, invalidArgument
            case storage
        }
        private let value: Value
        /// No key slot opens with the given password.
        package static let wrongPassword = Code(value: .wrongPassword)
        /// The repository or an object in it has a format version this build cannot read.
        package static let unsupportedVersion = Code(value: .unsupportedVersion)
        /// Stored bytes fail authentication or their hash: the data is damaged.
        package static let integrity = Code(value: .integrity)
        /// A file is truncated or is not what its place in the repository says it is.
        package static let malformed = Code(value: .malformed)
        /// The location holds no repository.
        package static let notARepository = Code(value: .notARepository)
        /// `init` on a location that already holds a repository.
        package static let alreadyInitialized = Code(value: .alreadyInitialized)
        /// No snapshot matches the selector.
        package static let snapshotNotFound = Code(value: .snapshotNotFound)
        /// A snapshot ID prefix matches more than one snapshot.
        package static let ambiguousSnapshot = Code(value: .ambiguousSnapshot)
        /// A conflicting lock is held (e.g. prune while a backup runs).
        package static let locked = Code(value: .locked)
        /// A parameter is out of range or inconsistent.
        package static let invalidArgument = Code(value: .invalidArgument)
        /// The store failed; see `cause`.
        package static let storage = Code(value: .storage)
        package var description: String {
            switch value {
            case .wrongPassword: "wrong password"
            case .unsupportedVersion: "unsupported format version"
            case .integrity: "integrity error"
            case .malformed: "malformed data"
            case .notARepository: "not a repository"
            case .alreadyInitialized: "already initialized"
            case .snapshotNotFound: "snapshot not found"
            case .ambiguousSnapshot: "ambiguous snapshot"
            case .locked: "repository locked"
            case .invalidArgument: "invalid argument"
            case .storage: "storage error"
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
}

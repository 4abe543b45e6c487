/// A dump as it flows: blocks of bytes, in order.
package typealias DumpSink = ([UInt8]) async throws -> Void

/// One kind of service an agent can back up and restore (DESIGN.md, "Components").
///
/// Contract: `dump` either delivers every byte of a complete, consistent dump to `sink` and
/// returns, or throws; a dump that fails midway always throws (with the tool's stderr), so a
/// partial dump never becomes a snapshot. `restore` consumes the whole stream or throws.
package protocol Component: Sendable {
    /// The name the agent announces and snapshots carry (e.g. `postgresql-shop`).
    var name: String { get }
    /// The kind (`postgresql`, `files`, `command`).
    var kind: String { get }

    /// Produces a dump.
    func dump(into sink: DumpSink) async throws

    /// Restores a dump read from `source`.
    /// - Parameters:
    ///   - target: where to restore (a database name, a directory); `nil` means the component's own.
    ///   - overwrite: replace a target that is not empty instead of refusing.
    func restore<Source: AsyncSequence>(
        from source: Source, target: String?, overwrite: Bool
    ) async throws where Source.Element == [UInt8]

    /// Checks a finished restore by using what it restored (a query, a walk of the tree, the
    /// operator's check command), so a restore that "succeeded" but left nothing usable fails.
    /// - Parameter target: the same target the restore was given.
    /// - Returns: a one-line summary of what was found, e.g. `3 tables, 1200 rows`.
    /// - Throws: `.checkFailed` naming what is wrong.
    func checkRestore(target: String?) async throws -> String
}

/// The one error components throw.
package struct ComponentError: Error, Hashable, CustomStringConvertible {
    package struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Value: Hashable, Sendable {
            case dumpFailed, restoreFailed, refused, configuration, checkFailed
        }
        private let value: Value
        /// The dump tool failed, was killed or produced nothing.
        package static let dumpFailed = Code(value: .dumpFailed)
        /// The restore tool failed.
        package static let restoreFailed = Code(value: .restoreFailed)
        /// The restore would overwrite data, or leave its target.
        package static let refused = Code(value: .refused)
        /// The component's settings are incomplete or wrong.
        package static let configuration = Code(value: .configuration)
        /// A restore finished but its self-check found it unusable.
        package static let checkFailed = Code(value: .checkFailed)
        package var description: String { "\(value)" }
    }

    package var code: Code
    package var message: String
    package var location: String

    package init(_ code: Code, _ message: String, file: String = #fileID, line: Int = #line) {
        (self.code, self.message, self.location) = (code, message, "\(file):\(line)")
    }

    package static func == (a: Self, b: Self) -> Bool { a.code == b.code }
    package func hash(into h: inout Hasher) { h.combine(code) }
    package var description: String { "\(code): \(message)" }
}

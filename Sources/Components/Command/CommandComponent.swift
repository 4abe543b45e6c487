import Foundation

/// Any service whose dump is a command's stdout and whose restore is a command reading stdin.
package struct CommandComponent: Component {
    package struct Configuration: Sendable, Hashable, Codable {
        /// argv of the dump command; its stdout is the dump.
        package var dump: [String]
        /// argv of the restore command; it reads the dump on stdin. `{target}` is replaced by
        /// the restore target when one is given.
        package var restore: [String]?
        /// argv of a command that checks a finished restore (`{target}` replaced as above);
        /// its exit status decides, its first line of output is the summary.
        package var check: [String]?
        /// Extra environment for all commands.
        package var environment: [String: String]?

        package init(
            dump: [String], restore: [String]? = nil, check: [String]? = nil,
            environment: [String: String]? = nil
        ) {
            (self.dump, self.restore, self.check, self.environment) = (
                dump, restore, check, environment
            )
        }
    }

    package let name: String
    package var kind: String { "command" }
    package let configuration: Configuration

    package init(name: String, configuration: Configuration) throws {
        guard !configuration.dump.isEmpty else {
            throw ComponentError(.configuration, "component \(name): `dump` needs a command")
        }
        (self.name, self.configuration) = (name, configuration)
    }

    package func dump(into sink: DumpSink) async throws {
        let command = configuration.dump
        try await ChildProcess(
            executable: command[0], arguments: Array(command.dropFirst()),
            environment: configuration.environment ?? [:]
        ).dump(into: sink)
    }

    package func restore<Source: AsyncSequence>(
        from source: Source, target: String?, overwrite: Bool
    ) async throws where Source.Element == [UInt8] {
        guard var command = configuration.restore, !command.isEmpty else {
            throw ComponentError(.configuration, "component \(name) has no `restore` command")
        }
        command = command.map { $0.replacingOccurrences(of: "{target}", with: target ?? "") }
        _ = try await ChildProcess(
            executable: command[0], arguments: Array(command.dropFirst()),
            environment: configuration.environment ?? [:]
        ).run(input: source, output: { _ in }, failure: .restoreFailed)
    }
}

extension CommandComponent {
    /// Runs the configured check command; without one there is nothing to check.
    package func checkRestore(target: String?) async throws -> String {
        guard var command = configuration.check, !command.isEmpty else {
            return "no check command configured"
        }
        command = command.map { $0.replacingOccurrences(of: "{target}", with: target ?? "") }
        var output: [UInt8] = []
        _ = try await ChildProcess(
            executable: command[0], arguments: Array(command.dropFirst()),
            environment: configuration.environment ?? [:]
        ).run(input: Optional<EmptyInput>.none, output: { output += $0 }, failure: .checkFailed)
        let first = String(decoding: output, as: UTF8.self).split(separator: "\n").first
        return first.map(String.init) ?? "check passed"
    }
}

/// No input at all, for tools that read nothing.
struct EmptyInput: AsyncSequence, Sendable {
    typealias Element = [UInt8]
    struct AsyncIterator: AsyncIteratorProtocol {
        mutating func next() async throws -> [UInt8]? { nil }
    }
    func makeAsyncIterator() -> AsyncIterator { AsyncIterator() }
}

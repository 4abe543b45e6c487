package import Foundation

/// What a finished process left behind.
package struct CommandResult: Sendable {
    package var status: Int32
    package var stdout: [UInt8]
    package var stderr: String
    package var stdoutText: String { String(decoding: stdout, as: UTF8.self) }
}

/// Runs the project's executables and system tools as real processes in tests.
package enum CommandRunner {
    /// The directory holding the built executables: the one the test runner itself lives in.
    package static var binDirectory: String {
        if let override = ProcessInfo.processInfo.environment["ZENTORIA_BIN_DIR"] {
            return override
        }
        return Bundle.main.executableURL!.deletingLastPathComponent().path
    }

    /// The path of a built product, e.g. `zentoria-coordinator`.
    package static func product(_ name: String) -> String { "\(binDirectory)/\(name)" }

    /// Runs `executable` to completion; stdin from `input` (a file path) or empty.
    package static func run(
        _ executable: String, _ arguments: [String], input: String? = nil,
        environment: [String: String] = [:]
    ) throws -> CommandResult {
        let process = try start(executable, arguments, environment: environment)
        if let input {
            process.standardInput = FileHandle(forReadingAtPath: input)
        }
        return try wait(process, launching: true)
    }

    /// Prepares a process with captured stdout/stderr; call ``wait(_:launching:)`` to run it.
    package static func start(
        _ executable: String, _ arguments: [String], environment: [String: String] = [:]
    ) throws -> Process {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        var env = ProcessInfo.processInfo.environment
        env.removeValue(forKey: "ZENTORIA_PASSWORD_FILE")
        for (key, value) in environment { env[key] = value }
        process.environment = env
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = Pipe()
        process.standardError = Pipe()
        return process
    }

    /// Runs (when `launching`) and waits for a prepared process, collecting its output.
    package static func wait(_ process: Process, launching: Bool) throws -> CommandResult {
        if launching { try process.run() }
        let out = (process.standardOutput as! Pipe).fileHandleForReading
        let err = (process.standardError as! Pipe).fileHandleForReading
        nonisolated(unsafe) var errorBytes = Data()
        let group = DispatchGroup()
        group.enter()
        DispatchQueue.global().async {
            errorBytes = err.readDataToEndOfFile()
            group.leave()
        }
        let outputBytes = out.readDataToEndOfFile()
        group.wait()
        process.waitUntilExit()
        return CommandResult(
            status: process.terminationStatus, stdout: Array(outputBytes),
            stderr: String(decoding: errorBytes, as: UTF8.self))
    }
}

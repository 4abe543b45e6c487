import Dispatch
import Foundation
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// Runs a dump or restore tool with its output streamed, its stderr kept (the last 16 KiB, for
/// error messages) and its exit status checked. A cancelled or failing caller kills the tool.
struct ChildProcess {
    var executable: String
    var arguments: [String]
    var environment: [String: String] = [:]
    var workingDirectory: String?

    /// What the tool wrote to stderr, trimmed.
    struct Outcome {
        var stderr: String
    }

    /// Runs the tool. With `input`, its blocks are the tool's stdin and its stdout is discarded;
    /// without, stdin is empty and stdout goes to `output` block by block. Throws `failure` with
    /// stderr when the tool exits non-zero or dies.
    func run<Input: AsyncSequence>(
        input: Input?, output: DumpSink, failure: ComponentError.Code
    ) async throws -> Outcome where Input.Element == [UInt8] {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: try Self.resolve(executable))
        process.arguments = arguments
        var env = ProcessInfo.processInfo.environment
        for (key, value) in environment { env[key] = value }
        process.environment = env
        if let workingDirectory {
            process.currentDirectoryURL = URL(fileURLWithPath: workingDirectory)
        }
        let stdout = Pipe()
        let stderr = Pipe()
        let stdin = Pipe()
        process.standardOutput = input == nil ? stdout : FileHandle.nullDevice
        process.standardError = stderr
        process.standardInput = input == nil ? FileHandle.nullDevice : stdin
        let errors = StderrTail()
        let finished = Exit()
        process.terminationHandler = { finished.record($0.terminationStatus, $0.terminationReason) }
        do {
            try process.run()
        } catch {
            throw ComponentError(failure, "cannot start \(executable): \(error)")
        }
        let stderrDone = DispatchSemaphore(value: 0)
        DispatchQueue.global().async {
            errors.drain(stderr.fileHandleForReading)
            stderrDone.signal()
        }
        do {
            if let input {
                defer { try? stdin.fileHandleForWriting.close() }
                for try await block in input {
                    try await Self.write(block, to: stdin.fileHandleForWriting.fileDescriptor)
                }
            } else {
                for try await block in FileDescriptorReader(
                    descriptor: stdout.fileHandleForReading.fileDescriptor)
                {
                    try await output(block)
                }
            }
        } catch {
            Self.terminate(process)
            _ = await finished.wait()
            throw error
        }
        let (status, reason) = await finished.wait()
        await withCheckedContinuation { continuation in
            DispatchQueue.global().async {
                stderrDone.wait()
                continuation.resume()
            }
        }
        let text = errors.text
        if reason == .uncaughtSignal {
            throw ComponentError(
                failure, "\(executable) was killed by signal \(status)\(Self.detail(text))")
        }
        guard status == 0 else {
            throw ComponentError(
                failure, "\(executable) exited with status \(status)\(Self.detail(text))")
        }
        return Outcome(stderr: text)
    }

    /// Runs a dump tool with empty stdin, streaming its stdout to `sink`; a tool that exits 0
    /// but writes nothing fails too, so an empty dump never becomes a snapshot.
    func dump(into sink: DumpSink) async throws {
        var produced = 0
        _ = try await run(
            input: Optional<EmptyInput>.none,
            output: { block in
                produced += block.count
                try await sink(block)
            }, failure: .dumpFailed)
        guard produced > 0 else {
            throw ComponentError(.dumpFailed, "\(executable) produced no output")
        }
    }

    private static func detail(_ stderr: String) -> String { stderr.isEmpty ? "" : ": \(stderr)" }

    /// SIGTERM, then SIGKILL if it is still there a moment later.
    private static func terminate(_ process: Process) {
        guard process.isRunning else { return }
        process.terminate()
        let pid = process.processIdentifier
        DispatchQueue.global().asyncAfter(deadline: .now() + 2) { kill(pid, SIGKILL) }
    }

    private static func write(_ bytes: [UInt8], to descriptor: Int32) async throws {
        try await withCheckedThrowingContinuation {
            (continuation: CheckedContinuation<Void, any Error>) in
            DispatchQueue.global().async {
                continuation.resume(
                    with: Result {
                        try bytes.withUnsafeBytes { buffer in
                            var offset = 0
                            while offset < buffer.count {
                                let n = Glibc.write(
                                    descriptor, buffer.baseAddress! + offset, buffer.count - offset)
                                if n < 0 {
                                    if errno == EINTR { continue }
                                    throw ComponentError(
                                        .restoreFailed, "the restore tool stopped reading its input"
                                    )
                                }
                                offset += n
                            }
                        }
                    })
            }
        }
    }

    /// Finds `name` on PATH unless it is a path already.
    static func resolve(_ name: String) throws -> String {
        if name.contains("/") { return name }
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/local/bin:/usr/bin:/bin"
        for directory in path.split(separator: ":") {
            let candidate = "\(directory)/\(name)"
            if access(candidate, X_OK) == 0 { return candidate }
        }
        throw ComponentError(.configuration, "\(name) is not installed (not found on PATH)")
    }
}

/// The last 16 KiB a process wrote to stderr.
private final class StderrTail: Sendable {
    private let buffer = Mutex<[UInt8]>([])

    func drain(_ handle: FileHandle) {
        while true {
            let data = handle.availableData
            if data.isEmpty { return }
            buffer.withLock { bytes in
                bytes.append(contentsOf: data)
                if bytes.count > 16_384 { bytes.removeFirst(bytes.count - 16_384) }
            }
        }
    }

    var text: String {
        buffer.withLock { String(decoding: $0, as: UTF8.self) }.trimmingCharacters(
            in: .whitespacesAndNewlines)
    }
}

/// A process's exit, awaited once.
private final class Exit: Sendable {
    private struct State {
        var result: (Int32, Process.TerminationReason)?
        var waiter: CheckedContinuation<(Int32, Process.TerminationReason), Never>?
    }
    private let state = Mutex(State())

    func record(_ status: Int32, _ reason: Process.TerminationReason) {
        let waiter = state.withLock {
            state -> CheckedContinuation<(Int32, Process.TerminationReason), Never>? in
            state.result = (status, reason)
            defer { state.waiter = nil }
            return state.waiter
        }
        waiter?.resume(returning: (status, reason))
    }

    func wait() async -> (Int32, Process.TerminationReason) {
        await withCheckedContinuation { continuation in
            let result = state.withLock { state -> (Int32, Process.TerminationReason)? in
                if let result = state.result { return result }
                state.waiter = continuation
                return nil
            }
            if let result { continuation.resume(returning: result) }
        }
    }
}

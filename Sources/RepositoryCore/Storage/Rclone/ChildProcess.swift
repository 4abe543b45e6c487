import Foundation
import Synchronization

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Runs one program to completion: stdin fed from memory, stdout and stderr collected.
///
/// Each run gets a dedicated thread that starts the child and then polls its three pipes, so a
/// child that writes while we are still feeding it cannot deadlock us, and no blocking call
/// runs on the cooperative pool. Cancelling the calling task sends the child SIGTERM.
enum ChildProcess {
    /// What a finished child left behind.
    struct Output: Sendable {
        /// The exit status, or the signal number when ``wasSignalled``.
        var status: Int32
        var wasSignalled: Bool
        var stdout: [UInt8]
        var stderr: [UInt8]
        /// Set when the child stopped reading stdin before it had everything (EPIPE).
        var inputError: Int32?
    }

    /// A launch failure: the program is missing or not executable, or a pipe failed.
    struct LaunchError: Error, CustomStringConvertible {
        var description: String
    }

    /// Runs `executable` (an absolute path) with `arguments`; `input` is written to its stdin,
    /// `nil` connects stdin to /dev/null.
    /// - Throws: ``LaunchError``; `CancellationError` when the task was cancelled.
    static func run(
        executable: String, arguments: [String], input: [UInt8]?
    ) async throws -> Output {
        try Task.checkCancellation()
        let child = RunningChild()
        let output = try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { continuation in
                child.prepare(continuation)
                let thread = Thread {
                    serve(executable: executable, arguments: arguments, input: input, child: child)
                }
                thread.name = "child-process"
                thread.start()
            }
        } onCancel: {
            child.terminate()
        }
        try Task.checkCancellation()
        return output
    }

    /// The body of a run's thread: starts the child, then serves its pipes until both outputs
    /// reach EOF, reporting each step to `child`.
    private static func serve(
        executable: String, arguments: [String], input: [UInt8]?, child: RunningChild
    ) {
        // A child inherits the signal mask of the thread that spawns it, and this thread
        // inherited a cooperative-pool thread's, which blocks SIGTERM among others: clear it
        // for the spawn, or the child could not be stopped.
        var inherited = sigset_t()
        var unblocked = sigset_t()
        sigemptyset(&unblocked)
        pthread_sigmask(SIG_SETMASK, &unblocked, &inherited)
        let streams: Streams
        do {
            streams = try launch(
                executable: executable, arguments: arguments, input: input, child: child)
        } catch {
            pthread_sigmask(SIG_SETMASK, &inherited, nil)
            child.failed(error)
            return
        }
        // A write after the child exited raises SIGPIPE, which would kill us. Blocked on this
        // thread (it is thread-directed), write() fails with EPIPE instead.
        var quiet = inherited
        sigaddset(&quiet, SIGPIPE)
        pthread_sigmask(SIG_SETMASK, &quiet, nil)
        child.streamsFinished(streams.pump())
    }

    /// Creates the pipes and starts the child; returns the parent's ends.
    private static func launch(
        executable: String, arguments: [String], input: [UInt8]?, child: RunningChild
    ) throws -> Streams {
        var descriptors: [Int32] = []
        var handedOver = false
        defer { if !handedOver { for fd in descriptors { close(fd) } } }
        func makePipe() throws -> (read: Int32, write: Int32) {
            var ends: [Int32] = [-1, -1]
            guard pipe(&ends) == 0 else {
                throw LaunchError(description: "pipe: \(String(cString: strerror(errno)))")
            }
            // Another thread's child could inherit them before this; Foundation's Process
            // closes stray descriptors in its children anyway.
            _ = fcntl(ends[0], F_SETFD, FD_CLOEXEC)
            _ = fcntl(ends[1], F_SETFD, FD_CLOEXEC)
            descriptors += ends
            return (ends[0], ends[1])
        }
        let stdout = try makePipe()
        let stderr = try makePipe()
        let stdin = try input.map { _ in try makePipe() }

        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.standardInput =
            stdin.map { FileHandle(fileDescriptor: $0.read, closeOnDealloc: false) }
            ?? FileHandle.nullDevice
        process.standardOutput = FileHandle(fileDescriptor: stdout.write, closeOnDealloc: false)
        process.standardError = FileHandle(fileDescriptor: stderr.write, closeOnDealloc: false)
        process.terminationHandler = { process in
            child.exited(
                status: process.terminationStatus,
                wasSignalled: process.terminationReason == .uncaughtSignal)
        }
        do {
            try process.run()
        } catch {
            throw LaunchError(description: "cannot start \(executable): \(error)")
        }
        child.started(pid: process.processIdentifier)

        // The child holds its own copies now; ours would keep the pipes from reaching EOF.
        for fd in [stdout.write, stderr.write] + (stdin.map { [$0.read] } ?? []) { close(fd) }
        handedOver = true
        return Streams(
            stdin: stdin?.write, input: input ?? [], stdout: stdout.read, stderr: stderr.read)
    }
}

/// The parent's ends of a child's pipes, served until stdout and stderr reach EOF; they are
/// closed by ``pump()``.
private struct Streams: Sendable {
    var stdin: Int32?
    var input: [UInt8]
    var stdout: Int32
    var stderr: Int32

    struct Collected: Sendable {
        var stdout: [UInt8] = []
        var stderr: [UInt8] = []
        var inputError: Int32?
    }

    /// Writes `input` and reads both outputs until EOF. Runs on its own thread, with SIGPIPE
    /// blocked: it blocks.
    func pump() -> Collected {
        var collected = Collected()
        var stdin = self.stdin
        var written = 0
        if let fd = stdin {
            #if canImport(Darwin)
                _ = fcntl(fd, F_SETNOSIGPIPE, 1)
            #endif
            _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
            if input.isEmpty {
                close(fd)
                stdin = nil
            }
        }
        var stdout: Int32? = self.stdout
        var stderr: Int32? = self.stderr
        var buffer = [UInt8](repeating: 0, count: 65_536)
        while stdout != nil || stderr != nil {
            var polled: [pollfd] = []
            for fd in [stdout, stderr].compactMap({ $0 }) {
                polled.append(pollfd(fd: fd, events: Int16(POLLIN), revents: 0))
            }
            if let fd = stdin { polled.append(pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)) }
            guard poll(&polled, nfds_t(polled.count), -1) >= 0 else {
                if errno == EINTR { continue }
                break
            }
            for entry in polled where entry.revents != 0 {
                if entry.fd == stdin {
                    let done = input.withUnsafeBytes { bytes -> Bool in
                        guard let base = bytes.baseAddress else { return true }
                        let count = write(entry.fd, base + written, bytes.count - written)
                        if count < 0 {
                            if errno == EAGAIN || errno == EINTR { return false }
                            collected.inputError = errno
                            return true
                        }
                        written += count
                        return written == bytes.count
                    }
                    if done {
                        close(entry.fd)
                        stdin = nil
                    }
                    continue
                }
                let count = buffer.withUnsafeMutableBytes { bytes in
                    read(entry.fd, bytes.baseAddress, bytes.count)
                }
                if count < 0, errno == EINTR || errno == EAGAIN { continue }
                if count <= 0 {
                    close(entry.fd)
                    if entry.fd == stdout { stdout = nil } else { stderr = nil }
                } else if entry.fd == stdout {
                    collected.stdout += buffer[..<count]
                } else {
                    collected.stderr += buffer[..<count]
                }
            }
        }
        for fd in [stdout, stderr].compactMap({ $0 }) { close(fd) }  // only if poll failed
        if let fd = stdin {
            // The child closed its outputs without reading all its input.
            close(fd)
            if collected.inputError == nil { collected.inputError = EPIPE }
        }
        #if canImport(Glibc)
            if collected.inputError == EPIPE {
                // Drop the SIGPIPE left pending (blocked) on this thread.
                var pipeSignal = sigset_t()
                sigemptyset(&pipeSignal)
                sigaddset(&pipeSignal, SIGPIPE)
                var none = timespec()
                _ = sigtimedwait(&pipeSignal, nil, &none)
            }
        #endif
        return collected
    }
}

/// Joins the two ends of a run (the child's exit and the end of its output streams) and lets
/// cancellation signal the child while, and only while, it runs.
private final class RunningChild: Sendable {
    private struct State {
        var continuation: CheckedContinuation<ChildProcess.Output, any Error>?
        var pid: pid_t?
        var exit: (status: Int32, wasSignalled: Bool)?
        var streams: Streams.Collected?
        var isCancelled = false
    }

    private let state = Mutex(State())

    func prepare(_ continuation: CheckedContinuation<ChildProcess.Output, any Error>) {
        state.withLock { $0.continuation = continuation }
    }

    /// The child could not be started.
    func failed(_ error: any Error) {
        let continuation = state.withLock { state in
            defer { state.continuation = nil }
            return state.continuation
        }
        continuation?.resume(throwing: error)
    }

    func started(pid: pid_t) {
        let cancelled = state.withLock { state in
            state.pid = state.exit == nil ? pid : nil
            return state.isCancelled && state.pid != nil
        }
        if cancelled { kill(pid, SIGTERM) }
    }

    func terminate() {
        // Under the lock, so the pid is signalled only until the termination handler reports
        // the exit.
        state.withLock { state in
            state.isCancelled = true
            if let pid = state.pid { kill(pid, SIGTERM) }
        }
    }

    func exited(status: Int32, wasSignalled: Bool) {
        finish { state in
            state.pid = nil
            state.exit = (status, wasSignalled)
        }
    }

    func streamsFinished(_ streams: Streams.Collected) {
        finish { $0.streams = streams }
    }

    private func finish(_ update: (inout State) -> Void) {
        let ready = state.withLock {
            state -> (CheckedContinuation<ChildProcess.Output, any Error>, ChildProcess.Output)? in
            update(&state)
            guard let exit = state.exit, let streams = state.streams,
                let continuation = state.continuation
            else { return nil }
            state.continuation = nil
            let output = ChildProcess.Output(
                status: exit.status, wasSignalled: exit.wasSignalled, stdout: streams.stdout,
                stderr: streams.stderr, inputError: streams.inputError)
            return (continuation, output)
        }
        if let ready { ready.0.resume(returning: ready.1) }
    }
}

package import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// A coordinator and its agents as real processes on loopback, each with its own scratch
/// directory, for end-to-end tests. Everything is stopped and removed by ``shutdown()``.
package final class Cluster: @unchecked Sendable {  // used from one test task at a time
    package let root: String
    package let agentPort: Int
    package let enrollPort: Int
    package private(set) var coordinator: Process?
    package private(set) var agents: [String: Process] = [:]
    package private(set) var fingerprint = ""

    package var configPath: String { "\(root)/coordinator.yaml" }
    package var adminSocket: String { "\(root)/state/admin.sock" }
    package var repository: String { "\(root)/state/repository" }
    package static let coordinatorBinary = CommandRunner.product("zentoria-coordinator")
    package static let agentBinary = CommandRunner.product("zentoria-agent")

    /// - Parameter extraConfig: YAML appended to the coordinator's configuration.
    package init(extraConfig: String = "") throws {
        root =
            FileManager.default.temporaryDirectory.appendingPathComponent(
                "zentoria-cluster-\(UUID().uuidString)"
            ).path
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        agentPort = try Self.freePort()
        enrollPort = try Self.freePort()
        _ = FileManager.default.createFile(
            atPath: "\(root)/password", contents: Data("cluster-password\n".utf8))
        let config = """
            listen: 127.0.0.1:\(agentPort)
            enroll_listen: 127.0.0.1:\(enrollPort)
            server_names: [localhost, 127.0.0.1]
            state_dir: \(root)/state
            password_file: \(root)/password
            \(extraConfig)
            """
        _ = FileManager.default.createFile(atPath: configPath, contents: Data(config.utf8))
    }

    /// `init` then `serve`; returns once the admin socket answers.
    package func startCoordinator(initialize: Bool = true) throws {
        if initialize {
            let result = try CommandRunner.run(
                Self.coordinatorBinary,
                ["init", "--config", configPath, "--insecure-kdf-for-tests"])
            guard result.status == 0 else {
                throw ClusterError("coordinator init failed: \(result.stderr)")
            }
            fingerprint = result.stdoutText.trimmingCharacters(in: .whitespacesAndNewlines)
        }
        coordinator = try launch(
            Self.coordinatorBinary, ["serve", "--config", configPath], log: "coordinator.log")
        try waitUntil("the coordinator answers") { (try? self.admin(["status"]).status) == 0 }
    }

    /// Stops the coordinator (SIGTERM, then SIGKILL).
    package func stopCoordinator() {
        if let coordinator { Self.stop(coordinator) }
        coordinator = nil
    }

    /// Runs an admin command against the running coordinator.
    package func admin(_ arguments: [String]) throws -> CommandResult {
        try CommandRunner.run(Self.coordinatorBinary, arguments + ["--admin-socket", adminSocket])
    }

    /// Enrolls an agent with a fresh token; returns its state directory.
    @discardableResult
    package func enroll(_ name: String) throws -> String {
        let token = try admin(["token", "create", "--agent", name])
        guard token.status == 0 else { throw ClusterError("token create failed: \(token.stderr)") }
        let state = "\(root)/agents/\(name)"
        let result = try runEnroll(
            token: token.stdoutText.trimmingCharacters(in: .whitespacesAndNewlines),
            stateDirectory: state)
        guard result.status == 0 else { throw ClusterError("enroll failed: \(result.stderr)") }
        return state
    }

    /// Runs `zentoria-agent enroll` against this cluster, pinning `fingerprint` (the real CA's
    /// by default), and returns what it did without judging it.
    package func runEnroll(
        token: String, stateDirectory: String, fingerprint: String? = nil
    ) throws -> CommandResult {
        try CommandRunner.run(
            Self.agentBinary,
            [
                "enroll", "--coordinator", "127.0.0.1:\(enrollPort)", "--token", token,
                "--ca-fingerprint", fingerprint ?? self.fingerprint, "--state-dir", stateDirectory,
            ])
    }

    /// Starts `zentoria-agent run` with the given components (YAML list items, already indented).
    package func startAgent(_ name: String, components: String) throws {
        let config = "state_dir: \(root)/agents/\(name)\ncomponents:\n\(components)\n"
        let path = "\(root)/agents/\(name).yaml"
        _ = FileManager.default.createFile(atPath: path, contents: Data(config.utf8))
        agents[name] = try launch(
            Self.agentBinary, ["run", "--config", path], log: "agent-\(name).log")
        try waitUntil("agent \(name) connects") { self.isConnected(name) }
    }

    package func stopAgent(_ name: String, signal: Int32 = SIGTERM) {
        guard let process = agents.removeValue(forKey: name) else { return }
        if signal == SIGKILL {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        } else {
            Self.stop(process)
        }
    }

    /// Whether `agents --json` lists the agent as connected.
    package func isConnected(_ name: String) -> Bool {
        guard let result = try? admin(["agents", "--json"]), result.status == 0,
            let list = try? JSONSerialization.jsonObject(with: Data(result.stdout))
                as? [[String: Any]]
        else { return false }
        return list.contains { $0["name"] as? String == name && $0["connected"] as? Bool == true }
    }

    /// A log file's text, for failure messages.
    package func log(_ name: String) -> String {
        (try? String(contentsOfFile: "\(root)/\(name)", encoding: .utf8)) ?? ""
    }

    package func shutdown() {
        for name in Array(agents.keys) { stopAgent(name) }
        stopCoordinator()
        try? FileManager.default.removeItem(atPath: root)
    }

    private func launch(_ executable: String, _ arguments: [String], log: String) throws -> Process
    {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        _ = FileManager.default.createFile(atPath: "\(root)/\(log)", contents: nil)
        let handle = FileHandle(forWritingAtPath: "\(root)/\(log)")
        handle?.seekToEndOfFile()
        process.standardOutput = handle
        process.standardError = handle
        process.standardInput = FileHandle.nullDevice
        try process.run()
        return process
    }

    /// Polls `condition` every 100 ms for up to `seconds`.
    package func waitUntil(_ what: String, seconds: Double = 30, _ condition: () -> Bool) throws {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if condition() { return }
            usleep(100_000)
        }
        throw ClusterError("timed out waiting until \(what)")
    }

    private static func stop(_ process: Process) {
        guard process.isRunning else { return }
        process.terminate()
        let deadline = Date().addingTimeInterval(10)
        while process.isRunning && Date() < deadline { usleep(50_000) }
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
    }

    /// A TCP port nobody listens on right now.
    package static func freePort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) }
        }
        guard bound == 0 else { throw ClusterError("no free port") }
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        return Int(UInt16(bigEndian: address.sin_port))
    }
}

package struct ClusterError: Error, CustomStringConvertible {
    package var description: String
    package init(_ description: String) { self.description = description }
}

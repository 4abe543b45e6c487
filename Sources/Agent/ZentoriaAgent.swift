import AgentCore
import ArgumentParser
import Components
import Foundation
import Logging
import ServiceLifecycle
import Transport
import UnixSignals

@main
struct ZentoriaAgent: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "zentoria-agent",
        abstract:
            "Zentoria Backup agent: dumps and restores the services on this host for the coordinator.",
        subcommands: [EnrollCommand.self, RunCommand.self]
    )

    /// ArgumentParser's entry point, after the allocator settings every command wants.
    static func main() async {
        AllocatorTuning.apply()
        await main(nil)
    }
}

func makeLogger(verbose: Bool) -> Logger {
    LoggingSystem.bootstrap { StreamLogHandler.standardError(label: $0) }
    var logger = Logger(label: "zentoria.agent")
    logger.logLevel = verbose ? .debug : .info
    return logger
}

func failing(_ body: () async throws -> Void) async throws {
    do {
        try await body()
    } catch let error as ValidationError {
        throw error
    } catch {
        FileHandle.standardError.write(Data("zentoria-agent: error: \(error)\n".utf8))
        throw ExitCode.failure
    }
}

struct EnrollCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "enroll",
        abstract:
            "Enroll with a coordinator using a one-time token; the private key never leaves this host."
    )

    @Option(help: ArgumentHelp("The coordinator's enrollment address.", valueName: "HOST:PORT"))
    var coordinator: String

    @Option(help: "One-time token from `zentoria-coordinator token create`.")
    var token: String

    @Option(
        help: ArgumentHelp(
            "SHA-256 fingerprint of the coordinator's CA, as printed by `zentoria-coordinator init`.",
            valueName: "FP"))
    var caFingerprint: String

    @Option(help: ArgumentHelp("Where the key and certificates are kept.", valueName: "DIR"))
    var stateDir = "/var/lib/zentoria-agent"

    @Flag(name: [.short, .long], help: "Log debug details.")
    var verbose = false

    func run() async throws {
        let endpoint: HostPort
        do { endpoint = try HostPort(parsing: coordinator) } catch {
            throw ValidationError("\(error)")
        }
        let logger = makeLogger(verbose: verbose)
        try await failing {
            let identity = try await AgentIdentity.enroll(
                coordinator: endpoint, token: token, caFingerprint: caFingerprint,
                stateDirectory: stateDir, logger: logger)
            print("enrolled as \(identity.agent); agent channel \(identity.coordinator)")
        }
    }
}

struct RunCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Connect to the coordinator and run the jobs it sends until stopped (SIGTERM).")

    @Option(help: ArgumentHelp("Agent configuration (YAML).", valueName: "FILE"))
    var config: String

    @Flag(name: [.short, .long], help: "Log debug details.")
    var verbose = false

    func run() async throws {
        signal(SIGPIPE, SIG_IGN)
        let logger = makeLogger(verbose: verbose)
        try await failing {
            let configuration = try AgentConfiguration.load(path: config)
            let (identity, tls) = try AgentIdentity.load(
                stateDirectory: configuration.stateDirectory)
            let coordinator =
                try configuration.coordinator ?? HostPort(parsing: identity.coordinator)
            let service = AgentService(
                identity: identity, tls: tls, coordinator: coordinator,
                components: try await configuration.makeComponents(),
                logger: logger)
            let group = ServiceGroup(
                services: [service], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)
            try await group.run()
        }
    }
}

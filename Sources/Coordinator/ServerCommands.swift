import ArgumentParser
import CoordinatorCore
import Foundation
import Logging
import RepositoryCore
import ServiceLifecycle
import UnixSignals

/// Where the admin commands find the running coordinator.
struct AdminOptions: ParsableArguments {
    @Option(
        help: ArgumentHelp(
            "Coordinator configuration (YAML); names the admin socket.", valueName: "FILE"))
    var config = "/etc/zentoria/coordinator.yaml"

    @Option(help: ArgumentHelp("Admin socket, overriding the configuration.", valueName: "PATH"))
    var adminSocket: String?

    func tool() throws -> AdminTool {
        if let adminSocket { return AdminTool(socket: adminSocket) }
        return AdminTool(socket: try CoordinatorConfiguration.load(path: config).adminSocket)
    }
}

func coordinatorLogger(verbose: Bool, bootstrap: Bool = false) -> Logger {
    if bootstrap { LoggingSystem.bootstrap { StreamLogHandler.standardError(label: $0) } }
    var logger = Logger(label: "zentoria.coordinator")
    logger.logLevel = verbose ? .debug : .info
    return logger
}

struct InitServerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "init",
        abstract:
            "Create the state directory, the CA, the server certificate and (if missing) the repository; print the CA fingerprint."
    )

    @Option(help: ArgumentHelp("Coordinator configuration (YAML).", valueName: "FILE"))
    var config: String

    @Flag(help: .hidden)
    var insecureKdfForTests = false

    func run() async throws {
        try await CoordinatorCommandSupport.run {
            let configuration = try CoordinatorConfiguration.load(path: config)
            let (fingerprint, created) = try await CoordinatorSetup.run(
                configuration,
                keyDerivation: insecureKdfForTests ? .insecureForTestsOnly : .default,
                logger: coordinatorLogger(verbose: false))
            if created {
                FileHandle.standardError.write(
                    Data("created repository at \(configuration.primaryDescription)\n".utf8))
            }
            emit("\(fingerprint)\n")
        }
    }
}

struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Run the coordinator: enrollment, agent channel and admin socket, until SIGTERM.")

    @Option(help: ArgumentHelp("Coordinator configuration (YAML).", valueName: "FILE"))
    var config: String

    @Flag(name: [.short, .long], help: "Log debug details.")
    var verbose = false

    func run() async throws {
        signal(SIGPIPE, SIG_IGN)
        let logger = coordinatorLogger(verbose: verbose, bootstrap: true)
        try await CoordinatorCommandSupport.run {
            let configuration = try CoordinatorConfiguration.load(path: config)
            let password = try OfflineTool.readPassword(file: configuration.passwordFile)
            let repository = try await Repository.open(
                store: try configuration.primaryStore(logger: logger), password: password,
                logger: logger)
            let server = CoordinatorServer(
                config: configuration, configPath: config, repository: repository, logger: logger)
            let group = ServiceGroup(
                services: [server], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)
            try await group.run()
        }
    }
}

struct TokenCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "token", abstract: "Enrollment tokens.", subcommands: [TokenCreateCommand.self]
    )
}

struct TokenCreateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "create", abstract: "Print a one-time enrollment token for an agent.")

    @OptionGroup var admin: AdminOptions

    @Option(help: "Name the agent will have.")
    var agent: String

    @Option(
        help: ArgumentHelp(
            "How long the token stays valid: 30m, 2h, 1d (default 1h).", valueName: "DURATION"))
    var ttl = "1h"

    func run() async throws {
        guard let seconds = DurationText.seconds(ttl) else {
            throw ValidationError("--ttl: '\(ttl)' is not a duration like 30m, 2h or 1d")
        }
        try await CoordinatorCommandSupport.run {
            emit(try await admin.tool().createToken(agent: agent, ttl: seconds))
        }
    }
}

struct StatusCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status", abstract: "Show the running coordinator's state.")
    @OptionGroup var admin: AdminOptions
    @Flag(help: "Print JSON.") var json = false

    func run() async throws {
        try await CoordinatorCommandSupport.run { emit(try await admin.tool().status(json: json)) }
    }
}

struct AgentsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "agents", abstract: "List agents (connected, last seen, version, components).",
        subcommands: [AgentsListCommand.self, AgentsRevokeCommand.self],
        defaultSubcommand: AgentsListCommand.self)
}

struct AgentsListCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "list", abstract: "List agents.")
    @OptionGroup var admin: AdminOptions
    @Flag(help: "Print JSON.") var json = false

    func run() async throws {
        try await CoordinatorCommandSupport.run { emit(try await admin.tool().agents(json: json)) }
    }
}

struct AgentsRevokeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "revoke",
        abstract: "Revoke an agent: its certificate stops working at once, live sessions included.")
    @OptionGroup var admin: AdminOptions
    @Argument(help: "Agent name.") var name: String

    func run() async throws {
        try await CoordinatorCommandSupport.run { emit(try await admin.tool().revoke(agent: name)) }
    }
}

struct AdminSnapshotsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "snapshots", abstract: "List snapshots through the running coordinator.")
    @OptionGroup var admin: AdminOptions
    @Option(help: "Only this agent's snapshots.") var agent: String?
    @Option(help: "Only this component's snapshots.") var component: String?
    @Flag(help: "Print JSON.") var json = false

    func run() async throws {
        try await CoordinatorCommandSupport.run {
            emit(try await admin.tool().snapshots(agent: agent, component: component, json: json))
        }
    }
}

/// `AGENT/COMPONENT`.
func splitTarget(_ text: String) throws -> (String, String) {
    let parts = text.split(separator: "/", maxSplits: 1).map(String.init)
    guard parts.count == 2, !parts[0].isEmpty, !parts[1].isEmpty else {
        throw ValidationError("'\(text)' is not AGENT/COMPONENT")
    }
    return (parts[0], parts[1])
}

struct BackupNowCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "backup", abstract: "Back up a component now.")
    @OptionGroup var admin: AdminOptions
    @Argument(help: ArgumentHelp("What to back up.", valueName: "AGENT/COMPONENT")) var target:
        String
    @Flag(help: "Wait for the job to end, showing progress; exit 1 if it failed.") var wait = false
    @Flag(help: "Print JSON.") var json = false

    func run() async throws {
        let (agent, component) = try splitTarget(target)
        try await CoordinatorCommandSupport.run {
            let (text, succeeded) = try await admin.tool().runJob(
                AdminTool.JobRequest(
                    kind: "backup", agent: agent, component: component, wait: wait), json: json)
            emit(text)
            if !succeeded { throw ExitCode.failure }
        }
    }
}

struct RestoreNowCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "restore",
        abstract: "Restore a snapshot through its agent (--to) or into a file (--output).",
        discussion:
            "SNAPSHOT is an ID, a unique ID prefix, or 'latest' (with --output: narrowed by --agent/--component)."
    )
    @OptionGroup var admin: AdminOptions
    @Argument(help: "Snapshot ID, prefix or 'latest'.") var snapshot: String
    @Option(
        help: ArgumentHelp(
            "Restore through this agent into this component.", valueName: "AGENT/COMPONENT"))
    var to: String?
    @Option(help: "Restore target: a database name or a directory (default: the component's own).")
    var target: String?
    @Flag(help: "Replace a target that is not empty.") var overwrite = false
    @Option(
        name: [.short, .long],
        help: ArgumentHelp("Write the dump to FILE instead.", valueName: "FILE")) var output:
        String?
    @Option(help: "With 'latest' and --output: this agent's snapshots.") var agent: String?
    @Option(help: "With 'latest' and --output: this component's snapshots.") var component: String?
    @Option(
        help: ArgumentHelp(
            "Read from this tier only (default: the nearest tier holding the snapshot; a damaged chunk is read from another tier).",
            valueName: "NAME"))
    var tier: String?
    @Flag(help: "Print JSON.") var json = false

    func validate() throws {
        if (to == nil) == (output == nil) {
            throw ValidationError("give exactly one of --to AGENT/COMPONENT and --output FILE")
        }
    }

    func run() async throws {
        if let output {
            try await CoordinatorCommandSupport.run {
                try await admin.tool().readSnapshot(
                    snapshot, agent: agent, component: component, tier: tier, output: output)
            }
            return
        }
        let (targetAgent, targetComponent) = try splitTarget(to ?? "")
        try await CoordinatorCommandSupport.run {
            let (text, succeeded) = try await admin.tool().runJob(
                AdminTool.JobRequest(
                    kind: "restore", agent: targetAgent, component: targetComponent,
                    snapshot: snapshot, target: target ?? "",
                    overwrite: overwrite, wait: true, tier: tier ?? ""),
                json: json)
            emit(text)
            if !succeeded { throw ExitCode.failure }
        }
    }
}

/// Durations as operators write them: `90s`, `30m`, `2h`, `1d`, `1w`.
enum DurationText {
    static func seconds(_ text: String) -> Int? {
        guard let unit = text.last, let value = Int(text.dropLast()), value > 0 else {
            return Int(text)
        }
        switch unit {
        case "s": return value
        case "m": return value * 60
        case "h": return value * 3600
        case "d": return value * 86_400
        case "w": return value * 604_800
        default: return nil
        }
    }
}

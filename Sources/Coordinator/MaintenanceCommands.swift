import ArgumentParser
import CoordinatorCore
import Foundation
import RepositoryCore

/// The configuration file the maintenance commands read.
struct ConfigOptions: ParsableArguments {
    @Option(help: ArgumentHelp("Coordinator configuration (YAML).", valueName: "FILE"))
    var config = "/etc/zentoria/coordinator.yaml"

    @Flag(name: [.short, .long], help: "Log debug details.")
    var verbose = false

    func tool() throws -> MaintenanceTool {
        MaintenanceTool(
            configuration: try CoordinatorConfiguration.load(path: config),
            logger: coordinatorLogger(verbose: verbose))
    }
}

struct PolicyForgetCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "forget",
        abstract: "Apply each component's retention policy from the configuration.",
        discussion: """
            Snapshots are grouped by agent and component; each group is planned under its policy \
            (restic's keep rules) and every kept snapshot is listed with the rules that keep it. \
            Forgotten snapshots' data is freed by the next prune.
            """)

    @OptionGroup var options: ConfigOptions

    @Flag(help: "Print the plan without forgetting anything.")
    var dryRun = false

    @Option(help: ArgumentHelp("Only this component.", valueName: "AGENT/COMPONENT"))
    var component: String?

    @Flag(help: "Print JSON.")
    var json = false

    func validate() throws {
        if let component, component.split(separator: "/").count != 2 {
            throw ValidationError("--component wants AGENT/COMPONENT, e.g. db/postgresql-app")
        }
    }

    func run() async throws {
        try await CoordinatorCommandSupport.run {
            let key = component.map {
                let parts = $0.split(separator: "/").map(String.init)
                return ComponentKey(agent: parts[0], component: parts[1])
            }
            emit(try await options.tool().forget(dryRun: dryRun, component: key, json: json))
        }
    }
}

struct JobsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "jobs", abstract: "Show the job history from the catalog, newest first.")

    @OptionGroup var options: ConfigOptions

    @Flag(help: "Only failed jobs.")
    var failed = false

    @Option(
        help: ArgumentHelp(
            "Only jobs scheduled within this long before now: 90s, 30min, 12h, 7d.",
            valueName: "DURATION"))
    var since: String?

    @Option(help: ArgumentHelp("At most this many jobs.", valueName: "N"))
    var limit: Int?

    @Flag(help: "Print JSON.")
    var json = false

    func validate() throws {
        if let since, JobDurationText.parse(since) == nil {
            throw ValidationError("--since wants a duration such as 90s, 30min, 12h or 7d")
        }
        if let limit, limit < 1 { throw ValidationError("--limit must be at least 1") }
    }

    func run() async throws {
        try await CoordinatorCommandSupport.run {
            emit(
                try options.tool().jobs(
                    failedOnly: failed, since: since.flatMap(JobDurationText.parse), limit: limit,
                    json: json))
        }
    }
}

struct CatalogCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "catalog", abstract: "The coordinator's SQLite catalog.",
        subcommands: [CatalogRebuildCommand.self])
}

struct CatalogRebuildCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rebuild",
        abstract: "Refill the catalog's snapshots, agents and components from the repository.",
        discussion: "Losing the catalog loses only job history; this brings the rest back.")

    @OptionGroup var options: ConfigOptions

    func run() async throws {
        try await CoordinatorCommandSupport.run { emit(try await options.tool().rebuildCatalog()) }
    }
}

struct SyncCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sync",
        abstract: "Copy new snapshots to the other tiers and apply each tier's retention.",
        discussion: """
            Only packs a tier lacks are sent; an interrupted sync resumes where it stopped. \
            Each tier keeps what its retention keeps: the components' own policies plus the \
            tier's extra rules, up to its max_age. Exits non-zero when any tier failed; the \
            other tiers are synced all the same.
            """)

    @OptionGroup var options: ConfigOptions

    @Option(help: ArgumentHelp("Only this tier.", valueName: "NAME"))
    var tier: String?

    @Flag(help: "Print JSON.")
    var json = false

    func run() async throws {
        try await CoordinatorCommandSupport.run {
            emit(try await options.tool().sync(tier: tier, json: json))
        }
    }
}

struct RecoverCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "recover",
        abstract: "Rebuild tier 1 and the catalog from another tier (disaster recovery).",
        discussion: """
            Needs only the configuration file, the tier's access settings (S3 credentials or \
            the rclone config) and the repository password. Every snapshot the tier holds is \
            copied into the configured repository directory, which is then checked; the \
            catalog is rebuilt. See docs/DISASTER_RECOVERY.md.
            """)

    @OptionGroup var options: ConfigOptions

    @Option(help: ArgumentHelp("The tier to recover from.", valueName: "NAME"))
    var tier: String

    @Option(
        help: ArgumentHelp(
            "The key envelope from `key export`, when the tier's key objects are lost.",
            valueName: "FILE"))
    var keyFile: String?

    func run() async throws {
        try await CoordinatorCommandSupport.run {
            emit(try await options.tool().recover(tier: tier, keyFile: keyFile))
        }
    }
}

struct TierCheckCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check",
        abstract: "Check the repository (or a tier); repair damage from the other tiers.",
        discussion: """
            With --repair, every damaged or missing pack and every unreadable index or snapshot \
            object is replaced by a copy from another tier whose SHA-256 matches its name, then \
            the check runs again. Exits non-zero when problems remain.
            """)

    @OptionGroup var options: ConfigOptions

    @Flag(help: "Read every pack and authenticate every chunk.")
    var readData = false

    @Option(
        help: ArgumentHelp(
            "Read this percentage of the packs, chosen at random.", valueName: "PERCENT"))
    var readDataSubset: Double?

    @Flag(help: "Replace damaged objects with intact copies from the other tiers.")
    var repair = false

    @Option(help: ArgumentHelp("Check this tier instead of tier 1.", valueName: "NAME"))
    var tier: String?

    func validate() throws {
        if readData && readDataSubset != nil {
            throw ValidationError("--read-data and --read-data-subset exclude each other")
        }
        if let percent = readDataSubset, !(percent > 0 && percent <= 100) {
            throw ValidationError("--read-data-subset must be a percentage in (0, 100]")
        }
    }

    func run() async throws {
        try await CoordinatorCommandSupport.run {
            let reading: DataReading =
                readData ? .all : readDataSubset.map { .subset(percent: $0) } ?? .none
            let (text, healthy) = try await options.tool().check(
                reading: reading, repair: repair, tier: tier)
            emit(text)
            if !healthy { throw ExitCode.failure }
        }
    }
}

struct KeyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "key", abstract: "The repository key, for disaster recovery.",
        subcommands: [KeyExportCommand.self])
}

struct KeyExportCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export",
        abstract: "Write the key envelope to keep off-site (password manager, paper).",
        discussion: """
            The envelope holds the repository's config and the key slot the configured \
            password opens, sealed by that password: useless without it, and with it enough \
            to open any tier whose own key objects are lost (`recover --key-file`).
            """)

    @OptionGroup var options: ConfigOptions

    @Option(
        name: [.short, .long],
        help: ArgumentHelp("Write to FILE (mode 0600) instead of stdout.", valueName: "FILE"))
    var output: String?

    func run() async throws {
        try await CoordinatorCommandSupport.run {
            let bytes = try await options.tool().exportKey()
            guard let output else {
                FileHandle.standardOutput.write(Data(bytes))
                return
            }
            guard
                FileManager.default.createFile(
                    atPath: output, contents: Data(bytes), attributes: [.posixPermissions: 0o600])
            else { throw ValidationError("cannot write \(output)") }
        }
    }
}

import ArgumentParser
import CoordinatorCore
import Foundation
import RepositoryCore

struct InitCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "init", abstract: "Create a repository in a new or empty directory.")

    @OptionGroup var options: RepositoryOptions

    @Option(help: ArgumentHelp("Pack size in MiB (1-512).", valueName: "MIB"))
    var packSize = 16

    @Option(help: ArgumentHelp("zstd level for chunks (1-19).", valueName: "LEVEL"))
    var compressionLevel = RepositoryConfig().compressionLevel

    @Option(
        help: ArgumentHelp(
            "Chunk sizes in KiB: minimum, average (a power of two), maximum. Fixed for the life of the repository.",
            valueName: "MIN,AVG,MAX"))
    var chunkSizes: String?

    @Flag(help: .hidden)
    var insecureKdfForTests = false

    func run() async throws {
        let password = try options.password()
        var config = RepositoryConfig(
            packSize: packSize * 1024 * 1024, compressionLevel: compressionLevel)
        if let chunkSizes {
            let parts = chunkSizes.split(separator: ",").compactMap {
                Int($0.trimmingCharacters(in: .whitespaces))
            }
            guard parts.count == 3 else {
                throw ValidationError(
                    "--chunk-sizes wants three numbers in KiB, e.g. 512,1024,8192")
            }
            config.chunker = ChunkerParameters(
                minimumSize: parts[0] * 1024, averageSize: parts[1] * 1024,
                maximumSize: parts[2] * 1024)
        }
        let kdf: KeyDerivationParameters = insecureKdfForTests ? .insecureForTestsOnly : .default
        try await CoordinatorCommandSupport.run {
            emit(
                try await options.tool().initialize(
                    path: options.repo, password: password, config: config, keyDerivation: kdf))
        }
    }
}

struct BackupCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "backup",
        abstract: "Back up a dump read from standard input; prints the new snapshot's ID.")

    @OptionGroup var options: RepositoryOptions

    @Option(help: "Agent the dump belongs to.")
    var agent: String

    @Option(help: "Component the dump belongs to (e.g. postgresql-main).")
    var component: String

    @Option(help: "Kind of dump (e.g. postgresql, files).")
    var kind = "stream"

    @Option(
        name: .customLong("tag"),
        help: ArgumentHelp("Tag to record (repeatable).", valueName: "TAG"))
    var tags: [String] = []

    @Flag(
        help: "Print a JSON object (id, bytes, bytes_added, chunks, new_chunks, duration_seconds).")
    var json = false

    func run() async throws {
        let password = try options.password()
        let request = BackupRequest(agent: agent, component: component, kind: kind, tags: tags)
        try await CoordinatorCommandSupport.run {
            emit(
                try await options.tool().backup(
                    path: options.repo, password: password, request: request, descriptor: 0,
                    json: json))
        }
    }
}

struct RestoreCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "restore",
        abstract: "Write a snapshot's dump to standard output or a file.",
        discussion:
            "SNAPSHOT is an ID, a unique ID prefix, or 'latest' (narrowed by --agent/--component).")

    @OptionGroup var options: RepositoryOptions

    @Argument(help: "Snapshot ID, unique prefix, or 'latest'.")
    var snapshot: String

    @Option(help: "With 'latest': only this agent's snapshots.")
    var agent: String?

    @Option(help: "With 'latest': only this component's snapshots.")
    var component: String?

    @Option(
        name: [.short, .long],
        help: ArgumentHelp(
            "Write to FILE (completed atomically) instead of stdout.", valueName: "FILE"))
    var output: String?

    func run() async throws {
        let password = try options.password()
        let selector = SnapshotSelector(snapshot, agent: agent, component: component)
        try await CoordinatorCommandSupport.run {
            try await options.tool().restore(
                path: options.repo, password: password, selector: selector, output: output)
        }
    }
}

struct SnapshotsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "snapshots", abstract: "List snapshots, oldest first.")

    @OptionGroup var options: RepositoryOptions

    @Option(help: "Only this agent's snapshots.")
    var agent: String?

    @Option(help: "Only this component's snapshots.")
    var component: String?

    @Flag(help: "Print JSON.")
    var json = false

    func run() async throws {
        let password = try options.password()
        try await CoordinatorCommandSupport.run {
            emit(
                try await options.tool().snapshots(
                    path: options.repo, password: password, agent: agent, component: component,
                    json: json))
        }
    }
}

struct CheckCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check",
        abstract: "Verify the repository; exits 3 when anything is damaged.",
        discussion:
            "Without options only the structure is checked; --read-data authenticates every stored byte."
    )

    @OptionGroup var options: RepositoryOptions

    @Flag(help: "Read every pack and authenticate every chunk.")
    var readData = false

    @Option(
        help: ArgumentHelp("Read this percentage of packs, chosen at random.", valueName: "PERCENT")
    )
    var readDataSubset: Double?

    @Flag(help: "Print JSON.")
    var json = false

    func validate() throws {
        if readData && readDataSubset != nil {
            throw ValidationError("--read-data and --read-data-subset exclude each other")
        }
        if let percent = readDataSubset, !(percent > 0 && percent <= 100) {
            throw ValidationError("--read-data-subset must be a percentage in (0, 100]")
        }
    }

    func run() async throws {
        let password = try options.password()
        let reading: DataReading =
            readData ? .all : readDataSubset.map { .subset(percent: $0) } ?? .none
        try await CoordinatorCommandSupport.run {
            let (text, healthy) = try await options.tool().check(
                path: options.repo, password: password, reading: reading, json: json)
            emit(text)
            if !healthy { throw ExitCode(3) }
        }
    }
}

struct ForgetCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "forget", abstract: "Remove snapshots; their data is reclaimed by prune.")

    @OptionGroup var options: RepositoryOptions

    @Argument(help: "Snapshot IDs or unique prefixes.")
    var snapshots: [String]

    func validate() throws {
        if snapshots.isEmpty { throw ValidationError("name at least one snapshot") }
        if snapshots.contains("latest") {
            throw ValidationError("'latest' is not accepted by forget; name snapshots by ID")
        }
    }

    func run() async throws {
        let password = try options.password()
        try await CoordinatorCommandSupport.run {
            emit(
                try await options.tool().forget(
                    path: options.repo, password: password,
                    selectors: snapshots.map { SnapshotSelector($0) }))
        }
    }
}

struct PruneCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "prune",
        abstract: "Remove data no snapshot references; repack mostly-unused packs.")

    @OptionGroup var options: RepositoryOptions

    @Flag(help: "Print the plan without changing anything.")
    var dryRun = false

    @Option(
        help: ArgumentHelp("Repack packs at least this percentage unused.", valueName: "PERCENT"))
    var repackThreshold = 20.0

    @Option(
        help: ArgumentHelp(
            "Wait this long for backups running beside prune to end, then delete what they did not need (default: do not wait; the next prune deletes it).",
            valueName: "SECONDS"))
    var wait = 0

    func validate() throws {
        if !(0...100).contains(repackThreshold) {
            throw ValidationError("--repack-threshold must be 0-100")
        }
        if wait < 0 { throw ValidationError("--wait must be 0 or more seconds") }
    }

    func run() async throws {
        let password = try options.password()
        try await CoordinatorCommandSupport.run {
            emit(
                try await options.tool().prune(
                    path: options.repo, password: password, dryRun: dryRun,
                    repackThreshold: repackThreshold / 100, waitForWriters: .seconds(wait)))
        }
    }
}

struct StatsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "stats", abstract: "Show sizes, deduplication and compression.")

    @OptionGroup var options: RepositoryOptions

    @Flag(help: "Print JSON.")
    var json = false

    func run() async throws {
        let password = try options.password()
        try await CoordinatorCommandSupport.run {
            emit(try await options.tool().stats(path: options.repo, password: password, json: json))
        }
    }
}

struct RebuildIndexCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rebuild-index",
        abstract:
            "Replace the index with one read from the pack headers (after index damage or loss).")

    @OptionGroup var options: RepositoryOptions

    func run() async throws {
        let password = try options.password()
        try await CoordinatorCommandSupport.run {
            emit(try await options.tool().rebuildIndex(path: options.repo, password: password))
        }
    }
}

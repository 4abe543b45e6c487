import ArgumentParser
import Components
import CoordinatorCore
import Foundation
import Logging
import RepositoryCore

@main
struct ZentoriaCoordinator: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "zentoria-coordinator",
        abstract:
            "Zentoria Backup coordinator: owns the repository, schedules and verifies backups.",
        discussion: """
            The `repo` commands work directly on a repository, with no coordinator running; they are \
            also the disaster-recovery tool.
            """,
        subcommands: [
            InitServerCommand.self, ServeCommand.self, StatusCommand.self, TokenCommand.self,
            AgentsCommand.self,
            AdminSnapshotsCommand.self, BackupNowCommand.self, RestoreNowCommand.self,
            PolicyForgetCommand.self, JobsCommand.self, CatalogCommand.self, SyncCommand.self,
            RecoverCommand.self, TierCheckCommand.self, KeyCommand.self, RepoCommand.self,
        ]
    )

    /// ArgumentParser's entry point, after the allocator settings every command wants.
    static func main() async {
        AllocatorTuning.apply()
        await main(nil)
    }
}

struct RepoCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "repo",
        abstract: "Work on a repository directly (offline; no coordinator needed).",
        discussion: """
            The password comes from --password-file FILE or the file named by the environment \
            variable ZENTORIA_PASSWORD_FILE. Exit status: 0 success, 1 failure, 3 check found damage, \
            64 bad usage.
            """,
        subcommands: [
            InitCommand.self, BackupCommand.self, RestoreCommand.self, SnapshotsCommand.self,
            CheckCommand.self,
            ForgetCommand.self, PruneCommand.self, StatsCommand.self, RebuildIndexCommand.self,
        ]
    )
}

/// Options every `repo` command takes.
struct RepositoryOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("Repository directory.", valueName: "DIR"))
    var repo: String

    @Option(
        name: .long,
        help: ArgumentHelp(
            "File holding the repository password (default: $ZENTORIA_PASSWORD_FILE).",
            valueName: "FILE"))
    var passwordFile: String?

    @Flag(name: [.short, .long], help: "Log debug details to stderr.")
    var verbose = false

    func password() throws -> [UInt8] {
        guard
            let file = passwordFile
                ?? ProcessInfo.processInfo.environment["ZENTORIA_PASSWORD_FILE"], !file.isEmpty
        else {
            throw ValidationError(
                "no password: give --password-file FILE or set ZENTORIA_PASSWORD_FILE")
        }
        return try OfflineTool.readPassword(file: file)
    }

    func tool() -> OfflineTool {
        var logger = Logger(label: "zentoria.coordinator")
        logger.logLevel = verbose ? .debug : .warning
        return OfflineTool(logger: logger)
    }
}

enum CoordinatorCommandSupport {
    /// Runs a command body, turning failures into one clear line on stderr and exit 1.
    static func run(_ body: () async throws -> Void) async throws {
        do {
            try await body()
        } catch let error as ValidationError {
            throw error
        } catch let error as ExitCode {
            throw error
        } catch {
            FileHandle.standardError.write(Data("zentoria-coordinator: error: \(error)\n".utf8))
            throw ExitCode.failure
        }
    }
}

func emit(_ text: String) {
    FileHandle.standardOutput.write(Data(text.utf8))
}

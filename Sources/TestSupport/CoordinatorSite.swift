import Foundation

/// A coordinator's files for tests that run `zentoria-coordinator` as a process: a state
/// directory, a password file, and a config whose tiers the test names.
package struct CoordinatorSite: Sendable {
    /// The repository password every site uses.
    package static let password = "correct horse"

    /// The directory holding the site's files.
    package let root: String
    /// The coordinator's YAML config.
    package var config: String { "\(root)/coordinator.yaml" }
    /// Tier 1: the repository in the state directory.
    package var repository: String { "\(root)/state/repository" }
    /// The file holding ``password``.
    package var passwordFile: String { "\(root)/password" }

    /// Writes the files; `tiers` are entries for the config's `tiers:` map (see
    /// ``S3Configuration/tierYAML(name:secretFile:settings:)``). The repository is not
    /// created: run `repo init`.
    package init(root: String, tiers: [String]) throws {
        self.root = root
        try FileManager.default.createDirectory(
            atPath: "\(root)/state", withIntermediateDirectories: true)
        try "\(Self.password)\n".write(toFile: passwordFile, atomically: true, encoding: .utf8)
        try """
        state_dir: \(root)/state
        password_file: \(passwordFile)
        tiers:
        \(tiers.joined(separator: "\n"))

        """.write(toFile: config, atomically: true, encoding: .utf8)
    }

    /// Runs the coordinator binary with this site's password.
    package func run(_ arguments: [String], input: String? = nil) throws -> CommandResult {
        try CommandRunner.run(
            Cluster.coordinatorBinary, arguments, input: input,
            environment: ["ZENTORIA_PASSWORD_FILE": passwordFile])
    }

    /// Runs `repo COMMAND --repo REPOSITORY ARGUMENTS...`.
    package func repo(
        _ command: String, _ arguments: [String], input: String? = nil
    ) throws -> CommandResult {
        try run(["repo", command, "--repo", repository] + arguments, input: input)
    }

    /// Creates the repository with the cheap key derivation tests may use.
    package func initialize() throws {
        let result = try repo("init", ["--insecure-kdf-for-tests"])
        guard result.status == 0 else {
            throw ContractViolation(message: "repo init: \(result.stderr)")
        }
    }

    /// Backs up `bytes` as one dump of agent `db`; returns the snapshot ID.
    package func backup(_ bytes: [UInt8], component: String) throws -> String {
        let dump = "\(root)/dump"
        try Data(bytes).write(to: URL(fileURLWithPath: dump))
        let result = try repo("backup", ["--agent", "db", "--component", component], input: dump)
        guard result.status == 0 else {
            throw ContractViolation(message: "backup: \(result.stderr)")
        }
        return result.stdoutText.trimmingCharacters(in: .whitespacesAndNewlines)
    }
}

package import Foundation
package import RepositoryCore

/// A coordinator's files for tests that run `zentoria-coordinator` as a process: a state
/// directory, a password file, and a config whose tiers the test names.
package struct CoordinatorSite: Sendable {
    package static let binary = CommandRunner.product("zentoria-coordinator")
    package static let password = "correct horse"

    package let root: String
    package var config: String { "\(root)/coordinator.yaml" }
    package var repository: String { "\(root)/state/repository" }
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
            Self.binary, arguments, input: input,
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

extension S3Configuration {
    /// This bucket as an entry of a coordinator config's `tiers:` map, indented for it; the
    /// secret key is written to `secretFile`. `settings` are more `key: value` lines.
    package func tierYAML(
        name: String, secretFile: String, settings: [String] = []
    ) throws -> String {
        try "\(credentials.secretAccessKey)\n".write(
            toFile: secretFile, atomically: true, encoding: .utf8)
        return """
              \(name):
                s3:
                  endpoint: \(endpoint)
                  bucket: \(bucket)
                  prefix: \(prefix)
                  access_key_id: \(credentials.accessKeyID)
                  secret_access_key_file: \(secretFile)
            """ + settings.map { "\n      \($0)" }.joined()
    }
}

/// rclone tiers for tests.
package enum RcloneTestConfig {
    /// Writes an rclone config with one local remote, `scratch`, and returns its path.
    package static func writeScratch(in directory: String) throws -> String {
        let path = "\(directory)/rclone.conf"
        try "[scratch]\ntype = local\n".write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    /// `remote` as an entry of a coordinator config's `tiers:` map, indented for it.
    package static func tierYAML(name: String, remote: String, config: String) -> String {
        """
          \(name):
            rclone:
              remote: "\(remote)"
              config: \(config)
        """
    }
}

import Foundation

/// A directory tree, archived with GNU tar: modes, times, symlinks (kept as links) and, as
/// root, owners. Restores refuse absolute names and `..` (GNU tar's default) and never follow a
/// symlink out of the target.
package struct FilesComponent: Component {
    package struct Configuration: Sendable, Hashable, Codable {
        package var path: String
        /// Glob patterns (tar `--exclude`) relative to `path`.
        package var exclude: [String]?
        /// When set, only these (paths relative to `path`) are archived.
        package var include: [String]?

        package init(path: String, exclude: [String]? = nil, include: [String]? = nil) {
            (self.path, self.exclude, self.include) = (path, exclude, include)
        }
    }

    package let name: String
    package var kind: String { "files" }
    package let configuration: Configuration

    package init(name: String, configuration: Configuration) throws {
        guard configuration.path.hasPrefix("/") else {
            throw ComponentError(.configuration, "component \(name): `path` must be absolute")
        }
        (self.name, self.configuration) = (name, configuration)
    }

    package func dump(into sink: DumpSink) async throws {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: configuration.path, isDirectory: &isDirectory),
            isDirectory.boolValue
        else {
            throw ComponentError(.dumpFailed, "\(configuration.path) is not a directory")
        }
        var arguments = [
            "--create", "--file=-", "--format=posix", "--numeric-owner", "--sparse", "-C",
            configuration.path,
        ]
        arguments += (configuration.exclude ?? []).map { "--exclude=\($0)" }
        arguments += ["--"] + (configuration.include ?? ["."])
        _ = try await ChildProcess(executable: "tar", arguments: arguments)
            .run(input: Optional<EmptyInput>.none, output: sink, failure: .dumpFailed)
    }

    /// Walks the restored tree: it must exist and every regular file in it must be readable.
    package func checkRestore(target: String?) async throws -> String {
        let directory = target ?? configuration.path
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: directory, isDirectory: &isDirectory),
            isDirectory.boolValue
        else {
            throw ComponentError(.checkFailed, "\(directory) is not a directory after the restore")
        }
        var files = 0
        var bytes = 0
        let enumerator = FileManager.default.enumerator(atPath: directory)
        while let relative = enumerator?.nextObject() as? String {
            let path = "\(directory)/\(relative)"
            let attributes = try? FileManager.default.attributesOfItem(atPath: path)
            guard attributes?[.type] as? FileAttributeType == .typeRegular else { continue }
            guard FileManager.default.isReadableFile(atPath: path) || getuid() != 0 else {
                throw ComponentError(.checkFailed, "\(path) cannot be read after the restore")
            }
            files += 1
            bytes += (attributes?[.size] as? Int) ?? 0
        }
        return "\(directory): \(files) file(s), \(bytes) byte(s)"
    }

    package func restore<Source: AsyncSequence>(
        from source: Source, target: String?, overwrite: Bool
    ) async throws where Source.Element == [UInt8] {
        let directory = target ?? configuration.path
        guard directory.hasPrefix("/") else {
            throw ComponentError(
                .configuration, "restore target \(directory) must be an absolute path")
        }
        try FileManager.default.createDirectory(
            atPath: directory, withIntermediateDirectories: true)
        let existing = try FileManager.default.contentsOfDirectory(atPath: directory)
        if !existing.isEmpty, !overwrite {
            throw ComponentError(
                .refused,
                "\(directory) is not empty; restore into another target or allow overwriting")
        }
        var arguments = [
            "--extract", "--file=-", "--numeric-owner", "--delay-directory-restore", "-C",
            directory,
        ]
        // GNU tar drops leading '/' and refuses members with '..'; --keep-directory-symlink and the
        // absence of --absolute-names keep links from redirecting writes out of the target.
        if getuid() == 0 {
            arguments.append("--same-owner")
        } else {
            arguments.append("--no-same-owner")
        }
        if overwrite {
            arguments.append("--overwrite")
        } else {
            arguments.append("--keep-old-files")
        }
        _ = try await ChildProcess(executable: "tar", arguments: arguments)
            .run(input: source, output: { _ in }, failure: .restoreFailed)
    }
}

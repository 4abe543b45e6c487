import Foundation
import Synchronization

/// A ``BlobStore`` on any rclone remote (`onedrive:backups/zentoria` off site), driving the
/// `rclone` executable: one child process per request.
///
/// Objects sit at ``ObjectName/path`` under the remote path, like ``FileSystemBlobStore``.
/// How it keeps the contract, and where it stops:
/// - `put` uploads to `tmp/<name>.<random>.tmp` with `rclone rcat --size`, then renames it into
///   place with `rclone moveto`. Readers see all of an object or nothing where the backend
///   moves server-side (a rename on local disks, WebDAV `MOVE`, OneDrive); where it cannot,
///   rclone copies then deletes, which object stores still expose only whole.
/// - rclone cannot refuse to overwrite (`moveto` replaces its target), so `put` checks that
///   the name is free under a per-name lock held by this store. One writer at a time writes
///   a tier (the coordinator's sync); other stores or processes racing on one name are not
///   guarded against. The check costs an rclone process, so it is skipped for a name that
///   this store's last listing of its kind, started less than `listingTrust` ago, did not
///   show and that this store has never tried to write (a sync lists a tier, then writes
///   what it lacks). A folder that does not exist lists as empty. Filter flags (`--exclude`,
///   `--max-age`, ...), which could thin a listing, cannot be among the extra flags anyway:
///   rclone then refuses the single-file commands every `put` runs.
/// - Durability and read-after-write are the backend's, as rclone passes them on.
/// - A ranged `get` checks the length it received; a whole `get` relies on rclone's checks.
/// - At most ``maxConcurrentRequests`` rclone processes run at once; later calls wait.
/// - Transient failures (exit status 5, network errors, throttling) are retried up to three
///   times with jittered exponential backoff; rclone itself is told to try each command once.
/// - Errors quote the tail of rclone's stderr; the extra flags are never echoed, and the
///   parameters of a connection-string remote are redacted.
package final class RcloneBlobStore: BlobStore {
    package let name: String
    /// `remote:path/inside`, without a trailing slash.
    package let remote: String
    package let maxConcurrentRequests: Int
    private let configFile: String?
    private let extraFlags: [String]
    private let executable: String
    /// The remote's name for messages (`onedrive`), never its parameters.
    private let remoteName: String
    private let requests: AsyncSemaphore
    private let writers = KeyedAsyncLock<ObjectName>()
    /// How long a listing vouches for the names it did not show.
    private let listingTrust: Duration
    private let listings = Mutex(Listings())

    /// What `put` may skip its lookup on.
    private struct Listings {
        /// Per kind, the names the listing that started last showed, and when it started.
        var byKind: [ObjectKind: (names: Set<String>, started: ContinuousClock.Instant)] = [:]
        /// Every name this store tried to write, whether or not the write succeeded: a
        /// listing can miss one (it ran meanwhile, or the backend lists late).
        var written: Set<ObjectName> = []
    }

    /// Retries after a transient failure: attempts beyond the first.
    private static let retries = 3

    /// Opens a store on `remote`; nothing is contacted until the first request.
    /// - Parameters:
    ///   - remote: `remote:path/inside`, a remote configured in the rclone config (or a
    ///     connection string); folders are created as needed.
    ///   - configFile: passed as `--config`; `nil` lets rclone use its default config file.
    ///   - extraFlags: added to every command after this store's own flags, so they win:
    ///     e.g. `["--onedrive-chunk-size", "10Mi", "--tpslimit", "10"]`. Never echoed.
    ///   - name: for logs and metrics.
    ///   - executable: an absolute path, or a name looked up in `PATH`.
    ///   - maxConcurrentRequests: how many rclone processes may run at once.
    ///   - listingTrust: how long a listing spares `put` the lookup of a name it did not show.
    package init(
        remote: String, configFile: String? = nil, extraFlags: [String] = [],
        name: String = "offsite", executable: String = "rclone", maxConcurrentRequests: Int = 4,
        listingTrust: Duration = .seconds(60)
    ) {
        precondition(maxConcurrentRequests > 0, "maxConcurrentRequests must be positive")
        var remote = remote
        while remote.count > 1, remote.hasSuffix("/"), !remote.hasSuffix(":/") {
            remote.removeLast()
        }
        self.remote = remote
        self.configFile = configFile
        self.extraFlags = extraFlags
        self.name = name
        self.executable = executable
        self.maxConcurrentRequests = maxConcurrentRequests
        self.listingTrust = listingTrust
        self.remoteName = Self.remoteName(of: remote)
        self.requests = AsyncSemaphore(permits: maxConcurrentRequests)
    }

    package func put(_ name: ObjectName, _ bytes: [UInt8]) async throws {
        let operation = "put \(name)"
        try await writers.withLock(name) {
            try Task.checkCancellation()
            if !isListedAbsent(name), try await exists(name) {
                throw StorageError(.alreadyExists, "\(name) already exists")
            }
            // From here the name may exist, even if the write fails: later puts look it up.
            listings.withLock { _ = $0.written.insert(name) }
            let temporary = "tmp/\(name.name).\(Self.randomHex(8)).tmp"
            do {
                try await withRetries { _ in
                    do {
                        _ = try await rclone(
                            operation, "rcat", flags: ["--size", "\(bytes.count)"],
                            [location(temporary)], input: bytes)
                    } catch let error as StorageError where error.code == .notFound {
                        // Nothing was looked up: the backend failed to create the folder.
                        throw StorageError(.permanent, error.message, cause: error)
                    }
                }
                try await withRetries { attempt in
                    do {
                        _ = try await rclone(
                            operation, "moveto", [location(temporary), location(name.path)])
                    } catch let error as StorageError where error.code == .notFound && attempt > 1 {
                        // The attempt that seemed to fail may have moved it after all.
                        guard (try? await size(of: name)) == bytes.count else { throw error }
                    }
                }
            } catch {
                if !Task.isCancelled {
                    _ = try? await rclone(
                        "discard \(temporary)", "deletefile", [location(temporary)])
                }
                throw error
            }
        }
    }

    /// True when a recent listing did not show `name` and this store never tried to write it.
    private func isListedAbsent(_ name: ObjectName) -> Bool {
        listings.withLock { listings in
            guard let listing = listings.byKind[name.kind] else { return false }
            guard ContinuousClock.now - listing.started < listingTrust else {
                listings.byKind[name.kind] = nil  // expired: free its names
                return false
            }
            return !listing.names.contains(name.name) && !listings.written.contains(name)
        }
    }

    package func get(_ name: ObjectName, range: Range<Int>?) async throws -> [UInt8] {
        let operation = "get \(name)"
        guard let range else {
            return try await withRetries { _ in
                try await rclone(operation, "cat", [location(name.path)])
            }
        }
        guard range.lowerBound >= 0 else {
            throw StorageError(.permanent, "range \(range) outside \(name)")
        }
        if range.isEmpty {
            // rclone would return nothing without looking; the range must still lie inside.
            let size = try await size(of: name)
            guard range.upperBound <= size else {
                throw StorageError(.permanent, "range \(range) outside \(name) of \(size) bytes")
            }
            return []
        }
        return try await withRetries { _ in
            let bytes = try await rclone(
                operation, "cat",
                flags: ["--offset", "\(range.lowerBound)", "--count", "\(range.count)"],
                [location(name.path)])
            if bytes.count == range.count { return bytes }
            // `rclone cat` stops quietly at the end of the object.
            let size = try await size(of: name)
            guard range.upperBound <= size else {
                throw StorageError(.permanent, "range \(range) outside \(name) of \(size) bytes")
            }
            throw StorageError(
                .transient, "\(operation): received \(bytes.count) of \(range.count) bytes")
        }
    }

    package func size(of name: ObjectName) async throws -> Int {
        let operation = "size of \(name)"
        let output = try await withRetries { _ in
            try await rclone(
                operation, "lsjson", flags: ["--stat", "--no-modtime", "--no-mimetype"],
                [location(name.path)])
        }
        let entry = try decode(RcloneListEntry.self, output, operation)
        guard !entry.isDirectory else {
            throw StorageError(.notFound, "\(operation): a folder, not an object")
        }
        guard entry.size >= 0 else {
            throw StorageError(.permanent, "\(operation): the remote reports no size")
        }
        return entry.size
    }

    package func list(_ kind: ObjectKind) async throws -> [ObjectInfo] {
        if kind == .config {
            do {
                return [ObjectInfo(name: .config, size: try await size(of: .config))]
            } catch let error as StorageError where error.code == .notFound {
                return []
            }
        }
        // `data` is fanned out into two-character folders.
        let recursive = kind == .data ? ["--recursive"] : []
        let started = ContinuousClock.now
        let entries = try await listing(
            kind.rawValue, flags: ["--files-only", "--no-modtime", "--no-mimetype"] + recursive)
        // Every entry counts as present, also one this listing cannot name.
        let present = Set(entries.map { ($0.path as NSString).lastPathComponent })
        listings.withLock { listings in
            // Keep the listing that started last, should two overlap.
            if let current = listings.byKind[kind], current.started > started { return }
            listings.byKind[kind] = (present, started)
        }
        return entries.compactMap { entry in
            guard entry.size >= 0, let name = Self.objectName(kind, path: entry.path) else {
                return nil
            }
            return ObjectInfo(name: name, size: entry.size)
        }
    }

    package func delete(_ name: ObjectName) async throws {
        try await withRetries { attempt in
            do {
                _ = try await rclone("delete \(name)", "deletefile", [location(name.path)])
            } catch let error as StorageError where error.code == .notFound && attempt > 1 {
                // The attempt that seemed to fail may have deleted it after all.
            }
        }
    }

    package func discardIncompleteWrites(olderThan age: Double) async throws -> Int {
        let entries = try await listing("tmp", flags: ["--files-only", "--no-mimetype"])
        let now = Date().timeIntervalSince1970
        let stale = entries.filter { entry in
            guard !entry.path.contains("/"), entry.name.hasSuffix(".tmp"),
                let modified = entry.modificationSeconds
            else { return false }
            return now - modified >= age
        }
        let removed = try await stale.concurrentMap(limit: maxConcurrentRequests) { entry in
            do {
                try await self.withRetries { _ in
                    _ = try await self.rclone(
                        "discard tmp/\(entry.path)", "deletefile",
                        [self.location("tmp/\(entry.path)")])
                }
                return 1
            } catch let error as StorageError where error.code == .notFound {
                return 0  // removed by someone else meanwhile
            }
        }
        return removed.reduce(0, +)
    }

    // MARK: - Running rclone

    /// The entries of a folder under the remote path; none when it does not exist.
    private func listing(_ folder: String, flags: [String]) async throws -> [RcloneListEntry] {
        let operation = "list \(folder)"
        do {
            let output = try await withRetries { _ in
                try await rclone(operation, "lsjson", flags: flags, [location(folder)])
            }
            return try decode([RcloneListEntry].self, output, operation)
        } catch let error as StorageError where error.code == .notFound {
            return []  // "directory not found": nothing was ever stored there
        }
    }

    /// Runs `body` again after a transient failure, up to ``retries`` times, waiting
    /// 0.5 s, 1 s, 2 s, each scaled by a random factor in [0.5, 1.5) to spread parallel callers.
    private func withRetries<T>(_ body: (_ attempt: Int) async throws -> T) async throws -> T {
        var attempt = 1
        while true {
            do {
                return try await body(attempt)
            } catch let error as StorageError where error.code == .transient {
                guard attempt <= Self.retries else { throw error }
                let delay = 0.5 * Double(1 << (attempt - 1)) * Double.random(in: 0.5..<1.5)
                try await Task.sleep(for: .seconds(delay))
                attempt += 1
            }
        }
    }

    /// Runs one rclone command once, within the concurrency limit, and returns its stdout.
    /// - Throws: a classified ``StorageError`` when rclone fails or cannot be started.
    private func rclone(
        _ operation: String, _ command: String, flags: [String] = [], _ paths: [String],
        input: [UInt8]? = nil
    ) async throws -> [UInt8] {
        let program = try resolvedExecutable()
        var arguments = [command]
        if let configFile { arguments += ["--config", configFile] }
        // Quiet, never prompting, and one try: this store does the retrying.
        arguments += [
            "--ask-password=false", "--log-level", "ERROR", "--retries", "1",
            "--low-level-retries", "1",
        ]
        arguments += flags + extraFlags + ["--"] + paths
        let output: ChildProcess.Output
        do {
            output = try await requests.withPermit {
                try await ChildProcess.run(executable: program, arguments: arguments, input: input)
            }
        } catch let error as ChildProcess.LaunchError {
            throw StorageError(.permanent, "\(operation): \(error)", cause: error)
        }
        guard output.status == 0, !output.wasSignalled else {
            throw StorageError(
                rcloneFailed: operation, remoteName: remoteName, status: output.status,
                wasSignalled: output.wasSignalled,
                stderr: redacted(String(decoding: output.stderr, as: UTF8.self)))
        }
        if let inputError = output.inputError {
            throw StorageError(
                .transient,
                "\(operation): rclone stopped reading its input (errno \(inputError))")
        }
        return output.stdout
    }

    /// The absolute path of the rclone executable.
    private func resolvedExecutable() throws -> String {
        if executable.contains("/") {
            guard FileManager.default.isExecutableFile(atPath: executable) else {
                throw StorageError(.permanent, "rclone executable \(executable) not found")
            }
            return executable
        }
        // The one environment read: a bare name means "as a shell would find it".
        let search = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/local/bin:/usr/bin:/bin"
        for directory in search.split(separator: ":") where !directory.isEmpty {
            let candidate = "\(directory)/\(executable)"
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        }
        throw StorageError(
            .permanent,
            "rclone executable '\(executable)' not found in PATH: install rclone or give its path")
    }

    private func decode<T: Decodable>(
        _ type: T.Type, _ output: [UInt8], _ operation: String
    ) throws -> T {
        do {
            return try JSONDecoder().decode(type, from: Data(output))
        } catch {
            throw StorageError(
                .permanent, "\(operation): unreadable rclone lsjson output", cause: error)
        }
    }

    // MARK: - Names

    /// `relative` under the remote path.
    private func location(_ relative: String) -> String {
        remote.hasSuffix(":") || remote.hasSuffix("/") ? remote + relative : "\(remote)/\(relative)"
    }

    /// rclone's stderr with a connection-string remote's parameters (which may hold
    /// credentials) replaced by the remote's name.
    private func redacted(_ text: String) -> String {
        guard let colon = remote.dropFirst().firstIndex(of: ":"),
            remote[..<colon].contains(",")
        else { return text }
        return text.replacingOccurrences(of: remote, with: "\(remoteName):…")
    }

    /// `onedrive` for `onedrive:backups`, `:webdav` for `:webdav,url=…:path`, `local` for a
    /// plain path.
    private static func remoteName(of remote: String) -> String {
        let isOnTheFly = remote.hasPrefix(":")
        let body = isOnTheFly ? remote.dropFirst() : Substring(remote)
        guard body.contains(":") else { return "local" }
        let name = body.prefix { $0 != ":" && $0 != "," }
        return (isOnTheFly ? ":" : "") + name
    }

    /// The object a listed path names, or `nil` for anything that is not one of ours.
    private static func objectName(_ kind: ObjectKind, path: String) -> ObjectName? {
        let components = path.split(separator: "/", omittingEmptySubsequences: false)
        let file: Substring
        if kind == .data {
            guard components.count == 2, components[0] == components[1].prefix(2) else {
                return nil
            }
            file = components[1]
        } else {
            guard components.count == 1 else { return nil }
            file = components[0]
        }
        guard !file.isEmpty, !file.hasPrefix("."), !file.hasSuffix(".tmp") else { return nil }
        return ObjectName(kind, String(file))
    }

    private static func randomHex(_ byteCount: Int) -> String {
        var generator = SystemRandomNumberGenerator()
        let digits = Array("0123456789abcdef")
        return String((0..<byteCount * 2).map { _ in digits[Int(generator.next() % 16)] })
    }
}

import Foundation
import RepositoryCore
import TestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

@Suite("Rclone store")
struct RcloneStoreTests {
    @Test(
        "rclone store on a local remote honours the contract", arguments: BlobStoreContract.checks)
    func localRemote(_ check: BlobStoreContract.Check) async throws {
        try await withRcloneStore(.local) { store, _ in try await check.run(store) }
    }

    @Test(
        "rclone store on a WebDAV remote honours the contract", arguments: BlobStoreContract.checks)
    func webDAVRemote(_ check: BlobStoreContract.Check) async throws {
        try await withRcloneStore(.webDAV) { store, _ in try await check.run(store) }
    }

    /// The first stderr is what rclone 1.60 printed when two puts raced to create one WebDAV
    /// directory (its server answers 423 while the other request holds it).
    @Test(
        "rclone's failures are classified by what it printed",
        arguments: [
            (
                "ERROR : 000000.5c84e3419bbff6f2.tmp: Couldn't move: Copy mkParentDir failed: "
                    + "Locked: 423 Locked\nFailed to moveto: Copy mkParentDir failed: Locked: 423 Locked",
                1, StorageError.Code.transient
            ),
            ("Failed to copy: directory not found", 3, .notFound),
            ("Failed to copyto: Unauthorized: 401 Unauthorized", 1, .unauthorized),
            ("Failed to copyto: Insufficient Storage: 507 Insufficient Storage", 1, .noSpace),
            ("Failed to create file system: didn't find section in config file", 1, .permanent),
        ])
    func classification(stderr: String, status: Int32, code: StorageError.Code) {
        let error = StorageError(
            rcloneFailed: "put data/00/000000", remoteName: "dav", status: status,
            wasSignalled: false, stderr: stderr)
        #expect(error.code == code, "\(error)")
    }

    @Test("an unknown remote fails permanently, naming the remote")
    func unknownRemote() async throws {
        try await withTemporaryDirectory { directory in
            let config = try RcloneTestConfig.writeScratch(in: directory)
            let store = RcloneBlobStore(remote: "nosuch:backups/zentoria", configFile: config)
            let error = await #expect(throws: StorageError.self) {
                _ = try await store.get(ObjectName(.keys, "k"))
            }
            #expect(error?.code == .permanent)
            #expect(error?.message.contains("unknown rclone remote 'nosuch'") == true)
            #expect(error?.message.contains("didn't find section in config file") == true)
        }
    }

    @Test("a missing rclone executable fails permanently, saying so")
    func missingExecutable() async throws {
        try await withTemporaryDirectory { directory in
            let store = RcloneBlobStore(
                remote: "scratch:\(directory)", executable: "\(directory)/no-rclone-here")
            let error = await #expect(throws: StorageError.self) {
                _ = try await store.list(.index)
            }
            #expect(error?.code == .permanent)
            #expect(error?.message.contains("rclone executable") == true)
        }
    }

    @Test("an unreachable remote fails as transient, after retrying with backoff")
    func unreachableRemote() async throws {
        try await withTemporaryDirectory { directory in
            let port = try freeLoopbackPort()  // nothing listens there
            let config = try RcloneTestConfig.write(
                "[dav]\ntype = webdav\nurl = http://127.0.0.1:\(port)\nvendor = other\n",
                in: directory)
            let store = RcloneBlobStore(remote: "dav:repo", configFile: config)
            let clock = ContinuousClock()
            let start = clock.now
            let error = await #expect(throws: StorageError.self) {
                _ = try await store.size(of: ObjectName(.keys, "k"))
            }
            #expect(error?.code == .transient)
            #expect(error?.message.contains("connection refused") == true)
            // Three waits of at least 0.25 s, 0.5 s and 1 s.
            #expect(clock.now - start >= .seconds(1.75))
        }
    }

    @Test("cancelling a request stops its rclone process")
    func cancellation() async throws {
        try await withTemporaryDirectory { directory in
            // Stands in for an rclone that hangs on an unresponsive remote.
            let executable = "\(directory)/slow-rclone"
            try "#!/bin/sh\necho $$ > '\(directory)/pid'\nexec sleep 60\n".write(
                toFile: executable, atomically: true, encoding: .utf8)
            try FileManager.default.setAttributes(
                [.posixPermissions: 0o755], ofItemAtPath: executable)
            let store = RcloneBlobStore(remote: "scratch:repo", executable: executable)
            let clock = ContinuousClock()
            let start = clock.now
            let request = Task { try await store.list(.index) }
            var pid: Int32?
            // Bounded only so a broken launch cannot hang the suite; a loaded machine may be slow.
            while pid == nil, clock.now - start < .seconds(120) {
                try await Task.sleep(for: .milliseconds(20))
                pid = (try? String(contentsOfFile: "\(directory)/pid", encoding: .utf8))
                    .flatMap { Int32($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
            }
            let child = try #require(pid)
            request.cancel()
            await #expect(throws: CancellationError.self) { _ = try await request.value }
            #expect(kill(child, 0) == -1 && errno == ESRCH, "the child still exists")
        }
    }

    @Test("objects larger than the pipe buffers go through whole")
    func largeObject() async throws {
        try await withRcloneStore(.local) { store, _ in
            var random = SeededRandom(seed: 7)
            let bytes = random.bytes(6 << 20)
            try await store.put(ObjectName(.data, "ab01"), bytes)
            #expect(try await store.get(ObjectName(.data, "ab01")) == bytes)
            #expect(
                try await store.get(ObjectName(.data, "ab01"), range: 1_000_000..<4_000_000)
                    == Array(bytes[1_000_000..<4_000_000]))
        }
    }

    @Test("a put rclone gives up on before reading its input fails cleanly")
    func rejectedUpload() async throws {
        try await withTemporaryDirectory { directory in
            // The remote path runs through a regular file: rclone cannot create tmp/ there.
            FileManagerHelpers.write("\(directory)/file", [1])
            let config = try RcloneTestConfig.writeScratch(in: directory)
            let store = RcloneBlobStore(
                remote: "scratch:\(directory)/file/repo", configFile: config)
            var random = SeededRandom(seed: 8)
            let bytes = random.bytes(8 << 20)
            let error = await #expect(throws: StorageError.self) {
                try await store.put(ObjectName(.data, "ab02"), bytes)
            }
            #expect(error?.code != .alreadyExists)
            #expect(error?.message.contains("not a directory") == true)
        }
    }

    /// Each lookup is an rclone process: a sync lists a tier, then writes what it lacks.
    @Test("a put skips the lookup of a name a recent listing did not show, and only then")
    func listingSparesLookups() async throws {
        try await withTemporaryDirectory { directory in
            let config = try RcloneTestConfig.writeScratch(in: directory)
            // A wrapper that logs every command and fails `moveto` while `fail` exists.
            let (calls, fail) = ("\(directory)/calls.log", "\(directory)/fail")
            let wrapper = "\(directory)/rclone-logged"
            try """
            #!/bin/sh
            echo "$*" >> '\(calls)'
            if [ "$1" = moveto ] && [ -e '\(fail)' ]; then echo refused >&2; exit 7; fi
            exec '\(try rcloneExecutable())' "$@"

            """.write(toFile: wrapper, atomically: true, encoding: .utf8)
            #expect(chmod(wrapper, 0o755) == 0)
            /// The commands run since the last call: `lookup` for one object, `list` for a folder.
            func commands() -> [String] {
                let text = (try? String(contentsOfFile: calls, encoding: .utf8)) ?? ""
                try? FileManager.default.removeItem(atPath: calls)
                return text.split(separator: "\n").map { line in
                    let command = String(line.prefix { $0 != " " })
                    guard command == "lsjson" else { return command }
                    return line.contains("--stat") ? "lookup" : "list"
                }
            }
            func store(trust: Duration = .seconds(60)) -> RcloneBlobStore {
                RcloneBlobStore(
                    remote: "scratch:\(directory)/repo", configFile: config, executable: wrapper,
                    listingTrust: trust)
            }
            let sync = store()
            let (a, b, c) = (
                ObjectName(.data, "aa01"), ObjectName(.data, "bb02"), ObjectName(.data, "cc03")
            )

            try await sync.put(a, [1])
            #expect(commands() == ["lookup", "rcat", "moveto"])
            #expect(try await sync.list(.data).map(\.name) == [a])
            try await sync.put(b, [2])
            #expect(commands() == ["list", "rcat", "moveto"], "no lookup for b")
            // Written by this store, or shown by the listing: looked up, and refused.
            for name in [b, a] {
                await #expect(throws: StorageError(.alreadyExists, "")) {
                    try await sync.put(name, [3])
                }
            }
            #expect(commands() == ["lookup", "lookup"])
            #expect(try await sync.get(b) == [2])
            #expect(commands() == ["cat"])

            // A failed write may have landed: the name is looked up from then on.
            FileManagerHelpers.write(fail, [])
            await #expect(throws: StorageError.self) { try await sync.put(c, [4]) }
            try FileManager.default.removeItem(atPath: fail)
            #expect(try await sync.list(.data).map(\.name).sorted { $0.name < $1.name } == [a, b])
            _ = commands()
            try await sync.put(c, [5])
            #expect(commands() == ["lookup", "rcat", "moveto"])

            // An expired listing vouches for nothing.
            let wary = store(trust: .zero)
            _ = try await wary.list(.data)
            try await wary.put(ObjectName(.data, "dd04"), [6])
            #expect(commands() == ["list", "lookup", "rcat", "moveto"])
        }
    }

    @Test("missing objects and folders", arguments: RcloneRemote.allCases)
    func missing(_ remote: RcloneRemote) async throws {
        try await withRcloneStore(remote) { store, _ async throws in
            let missing = ObjectName(.snapshots, "missing")
            await #expect(throws: StorageError(.notFound, "")) { _ = try await store.get(missing) }
            await #expect(throws: StorageError(.notFound, "")) {
                _ = try await store.get(missing, range: 0..<1)
            }
            await #expect(throws: StorageError(.notFound, "")) {
                _ = try await store.size(of: missing)
            }
            await #expect(throws: StorageError(.notFound, "")) { try await store.delete(missing) }
            #expect(try await store.list(.data).isEmpty)
            #expect(try await store.list(.snapshots).isEmpty)
            #expect(try await store.list(.config).isEmpty)
            #expect(try await store.discardIncompleteWrites(olderThan: 0) == 0)
        }
    }

    @Test("only old temporaries are discarded", arguments: RcloneRemote.allCases)
    func temporaries(_ remote: RcloneRemote) async throws {
        try await withRcloneStore(remote) { store, root in
            // Left on disk before the store (or the WebDAV server) looks at the folder.
            let temporaries = "\(root)/tmp"
            try FileManager.default.createDirectory(
                atPath: temporaries, withIntermediateDirectories: true)
            FileManagerHelpers.write("\(temporaries)/old.0123.tmp", [1, 2])
            FileManagerHelpers.write("\(temporaries)/fresh.4567.tmp", [3])
            FileManagerHelpers.write("\(temporaries)/not-ours", [4])
            for file in ["old.0123.tmp", "not-ours"] {
                try FileManager.default.setAttributes(
                    [.modificationDate: Date(timeIntervalSinceNow: -7200)],
                    ofItemAtPath: "\(temporaries)/\(file)")
            }
            try await store.put(ObjectName(.data, "aa01"), [9])

            #expect(try await store.discardIncompleteWrites(olderThan: 3600) == 1)
            let left = try FileManager.default.contentsOfDirectory(atPath: temporaries).sorted()
            #expect(left == ["fresh.4567.tmp", "not-ours"])
            #expect(try await store.get(ObjectName(.data, "aa01")) == [9])
            #expect(
                try await store.list(.data) == [
                    ObjectInfo(name: ObjectName(.data, "aa01"), size: 1)
                ])
        }
    }
}

/// The kinds of rclone remote the store is tested on.
enum RcloneRemote: String, CaseIterable, Sendable, CustomStringConvertible {
    /// rclone's `local` backend on a temporary directory.
    case local
    /// rclone's `webdav` backend talking to `rclone serve webdav` on loopback.
    case webDAV

    var description: String { rawValue }
}

/// Runs `body` with an empty store on a fresh remote, and the directory on disk that holds the
/// store's objects. A WebDAV server is stopped when `body` returns or throws.
private func withRcloneStore<T>(
    _ remote: RcloneRemote, _ body: (RcloneBlobStore, String) async throws -> T
) async throws -> T {
    try await withTemporaryDirectory { directory in
        switch remote {
        case .local:
            let config = try RcloneTestConfig.writeScratch(in: directory)
            let root = "\(directory)/repo"
            return try await body(
                RcloneBlobStore(remote: "scratch:\(root)", configFile: config), root)
        case .webDAV:
            let served = "\(directory)/served"
            try FileManager.default.createDirectory(
                atPath: served, withIntermediateDirectories: true)
            return try await withWebDAVServer(serving: served, logDirectory: directory) { port in
                let config = try RcloneTestConfig.write(
                    "[dav]\ntype = webdav\nurl = http://127.0.0.1:\(port)\nvendor = other\n",
                    in: directory)
                return try await body(
                    RcloneBlobStore(remote: "dav:repo", configFile: config), "\(served)/repo")
            }
        }
    }
}

/// Runs `rclone serve webdav` on `directory` at a free loopback port for the duration of
/// `body`, which gets the port.
private func withWebDAVServer<T>(
    serving directory: String, logDirectory: String, _ body: (Int) async throws -> T
) async throws -> T {
    var failures: [String] = []
    // Another process may take the port between our probe and the server's bind: try again.
    for attempt in 1...5 {
        let port = try freeLoopbackPort()
        let logPath = "\(logDirectory)/serve-\(attempt).log"
        FileManagerHelpers.write(logPath, [])
        let log = try FileHandle(forWritingTo: URL(fileURLWithPath: logPath))
        let server = Process()
        server.executableURL = URL(fileURLWithPath: try rcloneExecutable())
        server.arguments = [
            "serve", "webdav", directory, "--addr", "127.0.0.1:\(port)", "--log-level", "ERROR",
        ]
        server.standardInput = FileHandle.nullDevice
        server.standardOutput = log
        server.standardError = log
        try server.run()
        try log.close()
        defer {
            if server.isRunning { server.terminate() }
            server.waitUntilExit()
        }
        if try await waitUntilServing(directory, port: port, server: server) {
            return try await body(port)
        }
        let output = (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? ""
        failures.append("port \(port): \(output)")
    }
    throw WebDAVServerError(description: "rclone serve webdav did not start: \(failures)")
}

private struct WebDAVServerError: Error, CustomStringConvertible {
    var description: String
}

/// Waits until the server answers on `port` with a file only it serves, so a server another
/// test started on the same port is not mistaken for ours. `false` if it exits or never answers.
private func waitUntilServing(_ directory: String, port: Int, server: Process) async throws -> Bool
{
    let marker = ".ready-\(UUID().uuidString)"
    FileManagerHelpers.write("\(directory)/\(marker)", Array(marker.utf8))
    defer { try? FileManager.default.removeItem(atPath: "\(directory)/\(marker)") }
    for _ in 0..<200 {
        guard server.isRunning else { return false }
        if httpGet(port: port, path: "/\(marker)").contains(marker) { return true }
        try await Task.sleep(for: .milliseconds(50))
    }
    return false
}

/// The whole HTTP/1.0 response to `GET path` on loopback, or "" when nothing answers.
private func httpGet(port: Int, path: String) -> String {
    guard let fd = loopbackSocket(port: port, listening: false) else { return "" }
    defer { close(fd) }
    var timeout = timeval(tv_sec: 1, tv_usec: 0)
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
    let request = Array("GET \(path) HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n".utf8)
    guard request.withUnsafeBytes({ send(fd, $0.baseAddress, $0.count, 0) }) == request.count
    else { return "" }
    var response: [UInt8] = []
    var buffer = [UInt8](repeating: 0, count: 4096)
    while true {
        let count = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
        guard count > 0 else { break }
        response += buffer[..<count]
    }
    return String(decoding: response, as: UTF8.self)
}

/// A loopback port nothing listens on right now.
private func freeLoopbackPort() throws -> Int {
    guard let fd = loopbackSocket(port: 0, listening: true) else {
        throw WebDAVServerError(description: "cannot bind a loopback socket: errno \(errno)")
    }
    defer { close(fd) }
    var address = sockaddr_in()
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    let status = withUnsafeMutablePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
    }
    guard status == 0 else {
        throw WebDAVServerError(description: "getsockname failed: errno \(errno)")
    }
    return Int(UInt16(bigEndian: address.sin_port))
}

/// A TCP socket bound to (`listening`) or connected to 127.0.0.1:`port`, or nil.
private func loopbackSocket(port: Int, listening: Bool) -> Int32? {
    #if canImport(Glibc)
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    #else
        let fd = socket(AF_INET, SOCK_STREAM, 0)
    #endif
    guard fd >= 0 else { return nil }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = in_port_t(UInt16(port)).bigEndian
    address.sin_addr.s_addr = in_addr_t(0x7f00_0001).bigEndian
    let status = withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
            listening
                ? bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
                : connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
        }
    }
    guard status == 0 else {
        close(fd)
        return nil
    }
    return fd
}

/// rclone from `PATH`, as the store finds it by default.
private func rcloneExecutable() throws -> String {
    let search = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
    for directory in search.split(separator: ":") {
        let candidate = "\(directory)/rclone"
        if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
    }
    throw WebDAVServerError(description: "rclone is not installed (not found in PATH)")
}

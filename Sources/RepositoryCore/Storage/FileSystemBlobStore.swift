import Synchronization

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// A ``BlobStore`` in a local directory (tier 1 by default).
///
/// Writes go to `tmp/` first, are fsynced, then hard-linked to their final name (which fails
/// rather than overwrites when the name exists), and the directory is fsynced: an object is
/// either absent or complete, also after power loss. Leftovers in `tmp/` are removed by
/// ``discardIncompleteWrites(olderThan:)`` (prune calls it).
///
/// The store keeps ``reserveSize`` bytes allocated in `tmp/reserve`. A lock or a deletion
/// notice that finds the filesystem full frees the reserve and is written in its place, so
/// prune can still run on a full disk and free the packs. A pack write allocates the reserve
/// again first whenever it is missing and there is room.
package final class FileSystemBlobStore: BlobStore {
    package let name: String
    package let root: String
    package var maxConcurrentRequests: Int { 4 }
    private let knownDirectories = Mutex<Set<String>>([])
    /// Set while this process allocates the reserve, so that concurrent writes do not each
    /// allocate one.
    private let allocatingReserve = Mutex(false)

    /// Bytes set aside for locks and deletion notices. A notice names a pack in 67 bytes of
    /// JSON before compression and prune holds two notices at once: room for thousands of packs.
    static let reserveSize = 1 << 20

    /// Opens a store rooted at `root`; the directory is created on the first write.
    package init(root: String, name: String = "local") {
        self.root = root.hasSuffix("/") && root.count > 1 ? String(root.dropLast()) : root
        self.name = name
    }

    package func put(_ name: ObjectName, _ bytes: [UInt8]) async throws {
        let path = "\(root)/\(name.path)"
        let directory = Self.parent(of: path)
        try ensureDirectory(directory)
        try ensureDirectory("\(root)/tmp")
        if name.kind == .data { ensureReserve() }
        do {
            try writeObject(name, bytes, to: path, in: directory)
        } catch let error as StorageError
            where error.code == .noSpace && (name.kind == .locks || name.kind == .deletions)
        {
            // Another writer may have freed it already: the retry is worth it either way.
            unlink("\(root)/tmp/reserve")
            try writeObject(name, bytes, to: path, in: directory)
        }
    }

    /// Steps 2-4 of a put (FORMAT.md §1): temporary file, fsync, link, directory fsync.
    private func writeObject(
        _ name: ObjectName, _ bytes: [UInt8], to path: String, in directory: String
    ) throws {
        let temporary = "\(root)/tmp/\(Self.randomHex(16)).tmp"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw Self.error(errno, "create \(temporary)") }
        defer { unlink(temporary) }
        do {
            defer { close(fd) }
            try bytes.withUnsafeBytes { buffer in
                var offset = 0
                while offset < buffer.count {
                    let written = write(fd, buffer.baseAddress! + offset, buffer.count - offset)
                    if written < 0 {
                        if errno == EINTR { continue }
                        throw Self.error(errno, "write \(name)")
                    }
                    offset += written
                }
            }
            guard fsync(fd) == 0 else { throw Self.error(errno, "fsync \(name)") }
        }
        if link(temporary, path) != 0 {
            let code = errno
            if code == EEXIST { throw StorageError(.alreadyExists, "\(name) already exists") }
            if code == EPERM || code == ENOTSUP || code == EXDEV {
                throw StorageError(
                    .permanent,
                    "the filesystem under \(root) has no hard links, needed for writes that never overwrite"
                )
            }
            throw Self.error(code, "link \(name)")
        }
        try Self.syncDirectory(directory)
    }

    package func get(_ name: ObjectName, range: Range<Int>?) async throws -> [UInt8] {
        let fd = open("\(root)/\(name.path)", O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw Self.error(errno, "open \(name)") }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else { throw Self.error(errno, "stat \(name)") }
        let size = Int(info.st_size)
        let wanted = range ?? 0..<size
        guard wanted.lowerBound >= 0, wanted.upperBound <= size else {
            throw StorageError(.permanent, "range \(wanted) outside \(name) of \(size) bytes")
        }
        return try [UInt8](unsafeUninitializedCapacity: wanted.count) { buffer, count in
            var done = 0
            while done < wanted.count {
                let n = pread(
                    fd, buffer.baseAddress! + done, wanted.count - done,
                    off_t(wanted.lowerBound + done))
                if n < 0 {
                    if errno == EINTR { continue }
                    count = 0
                    throw Self.error(errno, "read \(name)")
                }
                if n == 0 {
                    count = 0
                    throw StorageError(.permanent, "\(name) shrank while being read")
                }
                done += n
            }
            count = done
        }
    }

    package func size(of name: ObjectName) async throws -> Int {
        var info = stat()
        guard stat("\(root)/\(name.path)", &info) == 0 else {
            throw Self.error(errno, "stat \(name)")
        }
        return Int(info.st_size)
    }

    package func list(_ kind: ObjectKind) async throws -> [ObjectInfo] {
        switch kind {
        case .config:
            var info = stat()
            guard stat("\(root)/config", &info) == 0 else { return [] }
            return [ObjectInfo(name: .config, size: Int(info.st_size))]
        case .data:
            var result: [ObjectInfo] = []
            for fanout in try Self.entries(of: "\(root)/data") where fanout.count == 2 {
                result += try Self.entries(of: "\(root)/data/\(fanout)").compactMap {
                    try objectInfo(kind: kind, directory: "\(root)/data/\(fanout)", entry: $0)
                }
            }
            return result
        default:
            return try Self.entries(of: "\(root)/\(kind.rawValue)").compactMap {
                try objectInfo(kind: kind, directory: "\(root)/\(kind.rawValue)", entry: $0)
            }
        }
    }

    package func delete(_ name: ObjectName) async throws {
        let path = "\(root)/\(name.path)"
        guard unlink(path) == 0 else { throw Self.error(errno, "delete \(name)") }
        // A deleted index must not come back after a power loss.
        try Self.syncDirectory(Self.parent(of: path))
    }

    package func discardIncompleteWrites(olderThan age: Double) async throws -> Int {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        var removed = 0
        for entry in try Self.entries(of: "\(root)/tmp") where entry.hasSuffix(".tmp") {
            var info = stat()
            let path = "\(root)/tmp/\(entry)"
            guard stat(path, &info) == 0 else { continue }
            if Double(now.tv_sec - info.st_mtim.tv_sec) >= age, unlink(path) == 0 { removed += 1 }
        }
        return removed
    }

    // MARK: - Internal

    /// Allocates `tmp/reserve` if it is missing. It is built under a temporary name, so a
    /// crash never leaves a short one; without room it is tried again on the next pack.
    private func ensureReserve() {
        let path = "\(root)/tmp/reserve"
        var info = stat()
        guard stat(path, &info) != 0 else { return }
        let isFirst = allocatingReserve.withLock { busy in
            defer { busy = true }
            return !busy
        }
        guard isFirst else { return }
        defer { allocatingReserve.withLock { $0 = false } }
        let temporary = "\(root)/tmp/\(Self.randomHex(16)).tmp"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard fd >= 0 else { return }
        defer { unlink(temporary) }
        let allocated = posix_fallocate(fd, 0, off_t(Self.reserveSize)) == 0
        close(fd)
        if allocated { link(temporary, path) }  // EEXIST: another process made one
    }

    private func objectInfo(
        kind: ObjectKind, directory: String, entry: String
    ) throws -> ObjectInfo? {
        guard !entry.hasPrefix("."), !entry.hasSuffix(".tmp") else { return nil }
        var info = stat()
        guard stat("\(directory)/\(entry)", &info) == 0 else {
            if errno == ENOENT { return nil }  // deleted while listing
            throw Self.error(errno, "stat \(directory)/\(entry)")
        }
        guard (info.st_mode & S_IFMT) == S_IFREG else { return nil }
        return ObjectInfo(name: ObjectName(kind, entry), size: Int(info.st_size))
    }

    private func ensureDirectory(_ path: String) throws {
        if knownDirectories.withLock({ $0.contains(path) }) { return }
        var components: [String] = []
        var current = path
        while !current.isEmpty, current != "/" {
            var info = stat()
            if stat(current, &info) == 0 { break }
            components.append(current)
            current = Self.parent(of: current)
        }
        for directory in components.reversed() {
            if mkdir(directory, 0o700) != 0, errno != EEXIST {
                throw Self.error(errno, "create directory \(directory)")
            }
            try Self.syncDirectory(Self.parent(of: directory))
        }
        knownDirectories.withLock { _ = $0.insert(path) }
    }

    private static func entries(of directory: String) throws -> [String] {
        guard let handle = opendir(directory) else {
            if errno == ENOENT { return [] }
            throw error(errno, "list \(directory)")
        }
        defer { closedir(handle) }
        var names: [String] = []
        while let entry = readdir(handle) {
            let name = withUnsafePointer(to: entry.pointee.d_name) {
                $0.withMemoryRebound(to: CChar.self, capacity: Int(NAME_MAX) + 1) {
                    String(cString: $0)
                }
            }
            if name != "." && name != ".." { names.append(name) }
        }
        return names
    }

    private static func syncDirectory(_ path: String) throws {
        let fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { throw error(errno, "open directory \(path)") }
        defer { close(fd) }
        guard fsync(fd) == 0 else { throw error(errno, "fsync directory \(path)") }
    }

    private static func parent(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        return slash == path.startIndex ? "/" : String(path[..<slash])
    }

    private static func randomHex(_ byteCount: Int) -> String {
        var generator = SystemRandomNumberGenerator()
        let digits = Array("0123456789abcdef")
        return String((0..<byteCount * 2).map { _ in digits[Int(generator.next() % 16)] })
    }

    private static func error(_ code: Int32, _ what: String) -> StorageError {
        let text = String(cString: strerror(code))
        switch code {
        case ENOENT: return StorageError(.notFound, "\(what): \(text)")
        case EEXIST: return StorageError(.alreadyExists, "\(what): \(text)")
        case ENOSPC, EDQUOT: return StorageError(.noSpace, "\(what): \(text)")
        case EACCES, EPERM, EROFS: return StorageError(.unauthorized, "\(what): \(text)")
        case EAGAIN, EINTR, EBUSY: return StorageError(.transient, "\(what): \(text)")
        default: return StorageError(.permanent, "\(what): \(text)")
        }
    }
}

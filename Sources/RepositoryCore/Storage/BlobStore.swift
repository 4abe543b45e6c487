/// The kinds of object a repository keeps; each lives under its own prefix (FORMAT.md §1).
package enum ObjectKind: String, Sendable, CaseIterable, Hashable {
    case config
    case keys
    case locks
    case snapshots
    case index
    case data
    /// Packs prune has announced it will delete (FORMAT.md §10, "Prune").
    case deletions
}

/// The name of one object in a store: its kind and a name unique within that kind.
package struct ObjectName: Hashable, Sendable, CustomStringConvertible {
    package var kind: ObjectKind
    package var name: String

    package init(_ kind: ObjectKind, _ name: String) {
        precondition(
            !name.isEmpty && !name.contains("/") && name != "." && name != "..",
            "object names are single path components")
        (self.kind, self.name) = (kind, name)
    }

    /// The single `config` object.
    package static let config = ObjectName(.config, "config")

    /// The conventional relative path: `data/` objects are fanned out by their first two
    /// characters, the others sit directly under their kind, `config` at the top.
    package var path: String {
        switch kind {
        case .config: "config"
        case .data: "data/\(name.prefix(2))/\(name)"
        default: "\(kind.rawValue)/\(name)"
        }
    }

    package var description: String { path }

    /// The object at a conventional relative path, or nil for anything else (a temporary
    /// file, a misplaced `data/` object, a foreign file).
    package init?(path: String) {
        if path == "config" {
            self = .config
            return
        }
        let parts = path.split(separator: "/", omittingEmptySubsequences: false)
        guard let kind = parts.first.flatMap({ ObjectKind(rawValue: String($0)) }), kind != .config
        else { return nil }
        let name: Substring
        switch (kind, parts.count) {
        case (.data, 3) where parts[2].hasPrefix(parts[1]) && parts[1].count == 2: name = parts[2]
        case (.data, _): return nil
        case (_, 2): name = parts[1]
        default: return nil
        }
        guard !name.isEmpty, name != ".", name != ".." else { return nil }
        self.init(kind, String(name))
    }
}

/// One listed object.
package struct ObjectInfo: Hashable, Sendable {
    package var name: ObjectName
    package var size: Int
    package init(name: ObjectName, size: Int) { (self.name, self.size) = (name, size) }
}

/// A store of named, immutable byte objects: the only thing the repository needs from a
/// backend (local disk, S3, an rclone remote, memory).
///
/// Contract, checked for every implementation by `BlobStoreContract`:
/// - `put` is atomic and durable: once it returns, `get` of that name returns exactly those
///   bytes, also after a crash of this process or the host; if it throws, the name either
///   does not exist or holds the complete bytes. A reader never sees a partial object.
/// - Objects are never overwritten: `put` of an existing name throws ``StorageError/Code/alreadyExists``
///   and leaves the object as it was.
/// - Read-after-write: `get`, `size` and `list` see an object as soon as its `put` returned.
/// - All methods may be called concurrently, up to ``maxConcurrentRequests`` at a time for
///   full speed; more calls are allowed and merely wait.
/// - Failures are classified (``StorageError/Code``); only `.transient` ones are worth retrying.
package protocol BlobStore: Sendable {
    /// A short name for logs and metrics (`local`, `s3`, `offsite`…), never a secret.
    var name: String { get }

    /// How many requests this backend serves well in parallel.
    var maxConcurrentRequests: Int { get }

    /// Stores `bytes` under `name`, atomically and durably.
    /// - Throws: `.alreadyExists` if the name exists (nothing is changed), `.noSpace`, …
    func put(_ name: ObjectName, _ bytes: [UInt8]) async throws

    /// Reads a whole object, or `range` of it (clamped to nothing: the range must lie inside).
    /// - Throws: `.notFound`; `.permanent` when `range` reaches past the end.
    func get(_ name: ObjectName, range: Range<Int>?) async throws -> [UInt8]

    /// The size of an object in bytes.
    /// - Throws: `.notFound`.
    func size(of name: ObjectName) async throws -> Int

    /// Every complete object of `kind`, in no particular order.
    func list(_ kind: ObjectKind) async throws -> [ObjectInfo]

    /// Removes an object. Removing a missing object throws `.notFound`.
    func delete(_ name: ObjectName) async throws

    /// Discards leftovers of interrupted writes (temporary files, unfinished multipart
    /// uploads) older than `age` seconds. Returns how many it removed.
    func discardIncompleteWrites(olderThan age: Double) async throws -> Int
}

extension BlobStore {
    /// Reads a whole object.
    package func get(_ name: ObjectName) async throws -> [UInt8] {
        try await get(name, range: nil)
    }

    /// Whether an object exists.
    package func exists(_ name: ObjectName) async throws -> Bool {
        do {
            _ = try await size(of: name)
            return true
        } catch let error as StorageError where error.code == .notFound {
            return false
        }
    }
}

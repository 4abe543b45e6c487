import Crypto
import Foundation
package import Logging

/// An open repository: a store plus the keys and parameters to read and write it.
///
/// Safe to share between tasks; every method may run concurrently with the others.
/// Layering: this type knows objects, packs, blobs and keys; backup, restore, check and prune
/// are built on it in their own files.
package final class Repository: Sendable {
    package let store: any BlobStore
    package let keys: RepositoryKeys
    package let config: RepositoryConfig
    package let logger: Logger
    let zstd: Zstd
    let gear: GearTable

    init(
        store: any BlobStore, keys: RepositoryKeys, config: RepositoryConfig, logger: Logger
    ) {
        self.store = store
        self.keys = keys
        self.config = config
        self.logger = logger
        self.zstd = Zstd(level: Int32(config.compressionLevel))
        self.gear = GearTable(seed: keys.chunkerSeed)
    }

    // MARK: - Creating and opening

    /// Creates a repository in an empty store with a fresh master key sealed by `password`.
    /// - Throws: `.alreadyInitialized` when the store holds a config already.
    package static func initialize(
        store: any BlobStore, password: [UInt8], config: RepositoryConfig = RepositoryConfig(),
        keyDerivation: KeyDerivationParameters = .default, hostname: String = Host.name,
        logger: Logger
    ) async throws -> Repository {
        try config.validate()
        guard !password.isEmpty else {
            throw RepositoryError(.invalidArgument, "the password is empty")
        }
        if try await store.exists(.config) {
            throw RepositoryError(
                .alreadyInitialized, "a repository already exists in store \(store.name)")
        }
        let keys = RepositoryKeys.generate()
        let slot = try await writeKeySlot(
            store: store, keys: keys, password: password, keyDerivation: keyDerivation,
            hostname: hostname)
        let sealed = try keys.seal(JSONEncoder().encode(config), authenticating: configAAD)
        let object = ConfigObject(
            format: ConfigObject.formatName, version: RepositoryConfig.currentVersion,
            id: config.id, sealed: Data(sealed))
        do {
            try await store.put(.config, Array(JSONEncoder().encode(object)))
        } catch {
            // Another init won the race (or the write failed): our slot would open nothing.
            try? await store.delete(slot)
            if let error = error as? StorageError, error.code == .alreadyExists {
                throw RepositoryError(
                    .alreadyInitialized,
                    "a repository was created concurrently in store \(store.name)")
            }
            throw error
        }
        logger.debug(
            "repository initialized",
            metadata: ["store.name": "\(store.name)", "repository.id": "\(config.id)"])
        return Repository(store: store, keys: keys, config: config, logger: logger)
    }

    /// Opens a repository with any key slot that `password` unlocks.
    /// - Throws: `.notARepository`, `.unsupportedVersion`, `.wrongPassword`, `.malformed`.
    package static func open(
        store: any BlobStore, password: [UInt8], logger: Logger
    ) async throws -> Repository {
        let object = try await readConfigObject(store: store)
        var slots = try await store.list(.keys).map(\.name)
        slots.sort { $0.name < $1.name }
        guard !slots.isEmpty else {
            throw RepositoryError(.malformed, "the repository has no key slots")
        }
        var wrongPasswords = 0
        var failures: [String] = []
        for name in slots {
            do {
                let decoder = JSONDecoder()
                decoder.dateDecodingStrategy = .iso8601
                let slot = try decoder.decode(KeySlot.self, from: Data(try await store.get(name)))
                let keys = try slot.open(password: password)
                let config = try unsealConfig(object, keys: keys)
                return Repository(store: store, keys: keys, config: config, logger: logger)
            } catch let error as RepositoryError where error.code == .wrongPassword {
                wrongPasswords += 1
            } catch {
                // One bad slot must not lock everyone out: try the others, report if none opens.
                logger.info(
                    "key slot unusable",
                    metadata: ["key.name": "\(name.name)", "error": "\(error)"])
                failures.append("\(name.name.prefix(8)): \(error)")
            }
        }
        if failures.isEmpty {
            throw RepositoryError(
                .wrongPassword, "the password opens none of the \(slots.count) key slot(s)")
        }
        throw RepositoryError(
            wrongPasswords == slots.count ? .wrongPassword : .malformed,
            "no key slot opens the repository (\(wrongPasswords) refused the password; "
                + failures.joined(separator: "; ") + ")")
    }

    static func unsealConfig(
        _ object: ConfigObject, keys: RepositoryKeys
    ) throws -> RepositoryConfig {
        let config: RepositoryConfig
        do {
            let plain = try keys.open(ArraySlice(object.sealed), authenticating: configAAD)
            config = try JSONDecoder().decode(RepositoryConfig.self, from: Data(plain))
        } catch {
            throw RepositoryError(
                .malformed, "the repository config does not match this key slot's key", cause: error
            )
        }
        guard config.id == object.id else {
            throw RepositoryError(.malformed, "the repository config names another repository")
        }
        try config.validate()
        return config
    }

    /// Adds a key slot that opens this repository with another password.
    package func addKeySlot(
        password: [UInt8], keyDerivation: KeyDerivationParameters = .default
    ) async throws {
        guard !password.isEmpty else {
            throw RepositoryError(.invalidArgument, "the password is empty")
        }
        try await Self.writeKeySlot(
            store: store, keys: keys, password: password, keyDerivation: keyDerivation,
            hostname: Host.name)
    }

    @discardableResult
    private static func writeKeySlot(
        store: any BlobStore, keys: RepositoryKeys, password: [UInt8],
        keyDerivation: KeyDerivationParameters,
        hostname: String
    ) async throws -> ObjectName {
        let slot = try KeySlot.make(
            keys: keys, password: password, parameters: keyDerivation, hostname: hostname)
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .iso8601
        encoder.outputFormatting = [.sortedKeys]
        let bytes = Array(try encoder.encode(slot))
        let name = ObjectName(.keys, SHA256Hasher.digest(bytes).hex)
        try await store.put(name, bytes)
        return name
    }

    static func readConfigObject(store: any BlobStore) async throws -> ConfigObject {
        let bytes: [UInt8]
        do {
            bytes = try await store.get(.config)
        } catch let error as StorageError where error.code == .notFound {
            throw RepositoryError(.notARepository, "no repository config in store \(store.name)")
        }
        guard let object = try? JSONDecoder().decode(ConfigObject.self, from: Data(bytes)),
            object.format == ConfigObject.formatName
        else {
            throw RepositoryError(
                .notARepository,
                "the config object in store \(store.name) is not a Zentoria repository's")
        }
        guard object.version == RepositoryConfig.currentVersion else {
            throw RepositoryError(
                .unsupportedVersion,
                "repository format version \(object.version) is not supported by this build (it reads version \(RepositoryConfig.currentVersion))"
            )
        }
        return object
    }

    private static let configAAD = Array("zentoria-config".utf8)

    // MARK: - Sealed metadata objects (FORMAT.md §1)

    static let objectVersion: UInt8 = 1

    func sealObject(_ kind: ObjectKind, _ payload: [UInt8]) throws -> [UInt8] {
        var plain: [UInt8]
        if payload.count > 512, let compressed = zstd.compress(payload) {
            plain = [Compression.zstd.rawValue]
            plain.appendLittleEndian(UInt32(payload.count))
            plain.append(contentsOf: compressed)
        } else {
            plain = [Compression.none.rawValue] + payload
        }
        return [Self.objectVersion]
            + (try keys.seal(plain, authenticating: Self.aad(kind, version: Self.objectVersion)))
    }

    func unsealObject(_ kind: ObjectKind, _ bytes: [UInt8], name: String) throws -> [UInt8] {
        guard let version = bytes.first else {
            throw RepositoryError(.malformed, "\(kind.rawValue)/\(name) is empty")
        }
        guard version == Self.objectVersion else {
            throw RepositoryError(
                .unsupportedVersion, "\(kind.rawValue)/\(name) has object version \(version)")
        }
        let plain: [UInt8]
        do {
            plain = try keys.open(bytes[1...], authenticating: Self.aad(kind, version: version))
        } catch let error as RepositoryError {
            throw RepositoryError(
                error.code, "\(kind.rawValue)/\(name) does not authenticate", cause: error)
        }
        var reader = ByteReader(plain[...], what: "\(kind.rawValue)/\(name)")
        switch Compression(rawValue: try reader.read(UInt8.self)) {
        case .some(.none): return Array(try reader.take(reader.remaining))
        case .some(.zstd):
            let size = Int(try reader.read(UInt32.self))
            return try zstd.decompress(try reader.take(reader.remaining), expectedSize: size)
        case nil:
            throw RepositoryError(.malformed, "\(kind.rawValue)/\(name) has an unknown encoding")
        }
    }

    /// Seals and stores a metadata object under the SHA-256 of its stored bytes.
    func saveContentNamed(_ kind: ObjectKind, _ payload: [UInt8]) async throws -> (Digest256, Int) {
        let sealed = try sealObject(kind, payload)
        let digest = SHA256Hasher.digest(sealed)
        try await store.put(ObjectName(kind, digest.hex), sealed)
        return (digest, sealed.count)
    }

    /// Loads a content-named metadata object, checking its hash before its seal.
    func loadContentNamed(_ kind: ObjectKind, _ digest: Digest256) async throws -> [UInt8] {
        let bytes = try await store.get(ObjectName(kind, digest.hex))
        guard SHA256Hasher.digest(bytes) == digest else {
            throw RepositoryError(
                .integrity, "\(kind.rawValue)/\(digest.hex) does not match its name")
        }
        return try unsealObject(kind, bytes, name: digest.hex)
    }

    /// The envelope's version byte followed by `zentoria-object-<kind>`.
    private static func aad(_ kind: ObjectKind, version: UInt8) -> [UInt8] {
        [version] + Array("zentoria-object-\(kind.rawValue)".utf8)
    }

    // MARK: - Index

    /// A metadata object that could not be read, with the reason.
    package struct Unreadable: Error, CustomStringConvertible {
        package var name: ObjectName
        package var error: any Error
        package var description: String { "\(name): \(error)" }
    }

    /// Loads every index object. Unreadable ones are returned, not thrown, so callers decide.
    ///
    /// Deletion notices are read first (FORMAT.md §10, "Prune"): packs they name are marked,
    /// so chunks are located elsewhere when possible and never deduplicated against.
    package func loadIndex() async throws -> (
        index: RepositoryIndex, files: [IndexID], unreadable: [Unreadable]
    ) {
        let pending = try await packsPendingDeletion()
        let (files, unreadable) = try await loadIndexFiles()
        var index = RepositoryIndex()
        for (_, file) in files {
            for pack in file.packs {
                index.add(
                    pack: pack.id, size: pack.size, entries: pack.entries,
                    isPendingDeletion: pending.contains(pack.id))
            }
        }
        return (index, files.map(\.0), unreadable)
    }

    /// Every index object as stored, with the ones that could not be read.
    ///
    /// An object that vanishes between listing and reading was replaced by a prune: the
    /// listing is read again (a few times) rather than report it unreadable.
    func loadIndexFiles() async throws -> (files: [(IndexID, IndexFile)], unreadable: [Unreadable])
    {
        var attempt = 0
        while true {
            let result = try await loadIndexFilesOnce()
            attempt += 1
            let vanished = result.unreadable.contains {
                ($0.error as? StorageError)?.code == .notFound
            }
            if !vanished || attempt >= 5 { return result }
        }
    }

    private func loadIndexFilesOnce() async throws -> (
        files: [(IndexID, IndexFile)], unreadable: [Unreadable]
    ) {
        let names = try await store.list(.index).map(\.name)
        let loaded: [Result<(IndexID, IndexFile), Unreadable>] = try await names.concurrentMap(
            limit: store.maxConcurrentRequests
        ) { name in
            guard let digest = Digest256(hex: name.name) else {
                return .failure(
                    Unreadable(
                        name: name, error: RepositoryError(.malformed, "foreign file in index/")))
            }
            do {
                return .success(
                    (
                        IndexID(digest),
                        try IndexFile(decoding: try await self.loadContentNamed(.index, digest))
                    ))
            } catch {
                return .failure(Unreadable(name: name, error: error))
            }
        }
        var files: [(IndexID, IndexFile)] = []
        var unreadable: [Unreadable] = []
        for result in loaded {
            switch result {
            case .success(let file): files.append(file)
            case .failure(let failure): unreadable.append(failure)
            }
        }
        return (files, unreadable)
    }

    /// Stores an index object for `packs`.
    func saveIndex(_ packs: [IndexFile.PackRecord]) async throws -> (IndexID, Int) {
        let (digest, size) = try await saveContentNamed(.index, IndexFile(packs: packs).encoded())
        return (IndexID(digest), size)
    }

    /// Stores index objects for `packs`, split at the per-object limits (FORMAT.md §7), so no
    /// reader ever has to hold a large object whole.
    /// - Returns: how many objects and bytes were written.
    func saveIndexObjects(_ packs: [IndexFile.PackRecord]) async throws -> (count: Int, bytes: Int)
    {
        var (count, bytes) = (0, 0)
        var batch: [IndexFile.PackRecord] = []
        var entries = 0
        for (offset, pack) in packs.enumerated() {
            batch.append(pack)
            entries += pack.entries.count
            if IndexFile.isFull(packs: batch.count, entries: entries) || offset == packs.count - 1 {
                bytes += try await saveIndex(batch).1
                count += 1
                (batch, entries) = ([], 0)
            }
        }
        return (count, bytes)
    }

    // MARK: - Snapshots

    /// Loads every snapshot, oldest first. Unreadable ones are returned, not thrown.
    package func loadSnapshots() async throws -> (snapshots: [Snapshot], unreadable: [Unreadable]) {
        let names = try await store.list(.snapshots).map(\.name)
        let loaded: [Result<Snapshot, Unreadable>] = try await names.concurrentMap(
            limit: store.maxConcurrentRequests
        ) { name in
            guard let digest = Digest256(hex: name.name) else {
                return .failure(
                    Unreadable(
                        name: name, error: RepositoryError(.malformed, "foreign file in snapshots/")
                    ))
            }
            do {
                return .success(try await self.loadSnapshot(SnapshotID(digest)))
            } catch {
                return .failure(Unreadable(name: name, error: error))
            }
        }
        var snapshots: [Snapshot] = []
        var unreadable: [Unreadable] = []
        for result in loaded {
            switch result {
            case .success(let snapshot): snapshots.append(snapshot)
            case .failure(let failure): unreadable.append(failure)
            }
        }
        snapshots.sort { ($0.startTime, $0.id) < ($1.startTime, $1.id) }
        return (snapshots, unreadable)
    }

    /// Loads one snapshot.
    package func loadSnapshot(_ id: SnapshotID) async throws -> Snapshot {
        do {
            return try Snapshot(
                id: id, decodingManifest: try await loadContentNamed(.snapshots, id.digest))
        } catch let error as StorageError where error.code == .notFound {
            throw RepositoryError(.snapshotNotFound, "snapshot \(id) does not exist")
        }
    }

    /// Stores a snapshot manifest; returns it with its ID.
    func saveSnapshot(_ snapshot: Snapshot) async throws -> Snapshot {
        let (digest, _) = try await saveContentNamed(.snapshots, try snapshot.encodedManifest())
        var saved = snapshot
        saved.id = SnapshotID(digest)
        return saved
    }

    /// Removes snapshots. Their data stays until prune.
    package func forget(_ ids: [SnapshotID]) async throws {
        try await withLock(.shared, operation: "forget") { lease in
            try lease.ensureValid()
            for id in ids {
                do {
                    try await store.delete(ObjectName(.snapshots, id.digest.hex))
                } catch let error as StorageError where error.code == .notFound {
                    throw RepositoryError(.snapshotNotFound, "snapshot \(id) does not exist")
                }
                logger.debug("snapshot forgotten", metadata: ["snapshot.id": "\(id)"])
            }
        }
    }

    // MARK: - Blobs

    /// Compresses (when it pays) and seals one chunk.
    func sealBlob(
        id: ChunkID, chunk: some ContiguousBytes
    ) throws -> (sealed: [UInt8], compression: Compression) {
        let compressed = zstd.compress(chunk)
        let compression: Compression = compressed == nil ? .none : .zstd
        let aad = PackEntry(
            id: id, type: .data, compression: compression, offset: 0, length: 0, rawLength: 0
        ).aad
        if let compressed { return (try keys.seal(compressed, authenticating: aad), compression) }
        return (try keys.seal(chunk, authenticating: aad), compression)
    }

    /// Opens a sealed blob and checks that its plaintext hashes to its ID.
    /// - Throws: `.integrity` for any damage.
    package func openBlob(_ sealed: ArraySlice<UInt8>, entry: PackEntry) throws -> [UInt8] {
        guard sealed.count == entry.length else {
            throw RepositoryError(
                .integrity,
                "blob \(entry.id.shortDescription) has \(sealed.count) bytes, expected \(entry.length)"
            )
        }
        let plain = try keys.open(sealed, authenticating: entry.aad)
        let chunk: [UInt8]
        switch entry.compression {
        case .none: chunk = plain
        case .zstd:
            do {
                chunk = try zstd.decompress(plain[...], expectedSize: entry.rawLength)
            } catch {
                throw RepositoryError(
                    .integrity, "blob \(entry.id.shortDescription) does not decompress",
                    cause: error)
            }
        }
        guard chunk.count == entry.rawLength, keys.chunkID(chunk) == entry.id else {
            throw RepositoryError(
                .integrity, "blob \(entry.id.shortDescription) does not match its ID")
        }
        return chunk
    }

    /// Reads and opens one blob from its pack.
    package func readBlob(_ location: BlobLocation) async throws -> [UInt8] {
        let range = location.entry.offset..<(location.entry.offset + location.entry.length)
        let sealed: [UInt8]
        do {
            sealed = try await store.get(ObjectName(.data, location.pack.digest.hex), range: range)
        } catch let error as StorageError where error.code == .notFound {
            throw RepositoryError(
                .integrity, "pack \(location.pack) holding chunk \(location.entry.id) is missing",
                cause: error)
        } catch let error as StorageError where error.code == .permanent {
            throw RepositoryError(
                .integrity, "pack \(location.pack) is shorter than its index says", cause: error)
        }
        do {
            return try openBlob(sealed[...], entry: location.entry)
        } catch let error as RepositoryError {
            throw RepositoryError(
                error.code, "chunk \(location.entry.id) in pack \(location.pack) is damaged",
                cause: error)
        }
    }

    /// A chunker for this repository's parameters and secret seed.
    package func makeChunker() -> Chunker { Chunker(parameters: config.chunker, gear: gear) }
}

/// The host name recorded in snapshots, locks and key slots.
package enum Host {
    package static var name: String { ProcessInfo.processInfo.hostName }
}

/// Where a blob lives.
package struct BlobLocation: Hashable, Sendable {
    package var pack: PackID
    package var entry: PackEntry
}

/// The in-memory union of all index objects: chunk ID → pack, offset, length (FORMAT.md §7).
///
/// Pack IDs are interned so an entry costs about 60 bytes of memory.
package struct RepositoryIndex: Sendable {
    private struct Slot: Hashable, Sendable {
        var pack: UInt32
        var offset: UInt32
        var length: UInt32
        var rawLength: UInt32
        var compression: Compression
    }

    private var packIDs: [PackID] = []
    private var packNumbers: [PackID: UInt32] = [:]
    private var packSizes: [Int] = []
    private var packIsPendingDeletion: [Bool] = []
    private var slots: [ChunkID: Slot] = [:]
    /// Chunks listed more than once (in several packs): harmless, prune removes the extras.
    package private(set) var duplicateCount = 0

    package init() {}

    /// Number of distinct chunks.
    package var chunkCount: Int { slots.count }
    /// Number of packs the index names.
    package var packCount: Int { packIDs.count }

    /// Whether the chunk is stored.
    package func contains(_ id: ChunkID) -> Bool { slots[id] != nil }

    /// Whether a new snapshot may reference the stored chunk: it is stored in a pack that
    /// prune has not announced for deletion.
    package func canDeduplicate(_ id: ChunkID) -> Bool {
        guard let slot = slots[id] else { return false }
        return !packIsPendingDeletion[Int(slot.pack)]
    }

    /// Where the chunk is stored, if it is.
    package func location(of id: ChunkID) -> BlobLocation? {
        guard let slot = slots[id] else { return nil }
        return BlobLocation(
            pack: packIDs[Int(slot.pack)],
            entry: PackEntry(
                id: id, type: .data, compression: slot.compression, offset: Int(slot.offset),
                length: Int(slot.length), rawLength: Int(slot.rawLength)))
    }

    /// Every pack the index names, with the size it must have.
    package var packs: [(id: PackID, size: Int)] {
        zip(packIDs, packSizes).map { ($0, $1) }
    }

    /// Whether a deletion notice named the pack when the index was loaded.
    package func isPendingDeletion(_ pack: PackID) -> Bool {
        packNumbers[pack].map { packIsPendingDeletion[Int($0)] } ?? false
    }

    /// The expected size of a pack, if indexed.
    package func packSize(_ id: PackID) -> Int? {
        packNumbers[id].map { packSizes[Int($0)] }
    }

    /// Adds a pack and its entries. A chunk stored in several packs is located in a pack not
    /// pending deletion if there is one, and among those in the one with the lowest ID,
    /// whatever the order of adding (prune keeps that same copy).
    package mutating func add(
        pack: PackID, size: Int, entries: [PackEntry], isPendingDeletion: Bool = false
    ) {
        let number: UInt32
        if let existing = packNumbers[pack] {
            number = existing
        } else {
            number = UInt32(packIDs.count)
            packIDs.append(pack)
            packSizes.append(size)
            packIsPendingDeletion.append(isPendingDeletion)
            packNumbers[pack] = number
        }
        for entry in entries {
            let slot = Slot(
                pack: number, offset: UInt32(entry.offset), length: UInt32(entry.length),
                rawLength: UInt32(entry.rawLength), compression: entry.compression)
            guard let existing = slots[entry.id] else {
                slots[entry.id] = slot
                continue
            }
            if existing != slot {
                duplicateCount += 1
                let other = Int(existing.pack)
                let ours = (isPendingDeletion ? 1 : 0, pack)
                if ours < (packIsPendingDeletion[other] ? 1 : 0, packIDs[other]) {
                    slots[entry.id] = slot
                }
            }
        }
    }

    /// All chunk IDs with their locations, grouped by pack in no particular order.
    package func forEachChunk(_ body: (ChunkID, BlobLocation) throws -> Void) rethrows {
        for id in slots.keys { try body(id, location(of: id)!) }
    }
}

/// One index object: the packs one backup (or prune) wrote and their blobs (FORMAT.md §7).
package struct IndexFile: Sendable {
    package struct PackRecord: Sendable {
        package var id: PackID
        package var size: Int
        package var entries: [PackEntry]
        package init(id: PackID, size: Int, entries: [PackEntry]) {
            (self.id, self.size, self.entries) = (id, size, entries)
        }
    }

    package var packs: [PackRecord]

    package init(packs: [PackRecord]) { self.packs = packs }

    /// Writers close an object at this many pack records…
    static let maximumPacks = 4096
    /// …or once it holds this many blob entries (FORMAT.md §7).
    static let closingEntries = 65_536

    static func isFull(packs: Int, entries: Int) -> Bool {
        packs >= maximumPacks || entries >= closingEntries
    }

    static let magic: [UInt8] = Array("ZIDX".utf8)
    static let version: UInt8 = 1

    func encoded() -> [UInt8] {
        var bytes = Self.magic
        bytes.append(Self.version)
        bytes.appendLittleEndian(UInt32(packs.count))
        for pack in packs {
            pack.id.digest.append(to: &bytes)
            bytes.appendLittleEndian(UInt64(pack.size))
            bytes.appendLittleEndian(UInt32(pack.entries.count))
            for entry in pack.entries {
                entry.id.digest.append(to: &bytes)
                bytes.append(entry.type.rawValue)
                bytes.append(entry.compression.rawValue)
                bytes.appendLittleEndian(UInt32(entry.offset))
                bytes.appendLittleEndian(UInt32(entry.length))
                bytes.appendLittleEndian(UInt32(entry.rawLength))
            }
        }
        return bytes
    }

    init(decoding bytes: [UInt8]) throws {
        var reader = ByteReader(bytes[...], what: "index")
        guard Array(try reader.take(4)) == Self.magic else {
            throw RepositoryError(.malformed, "index object has no index magic")
        }
        let version = try reader.read(UInt8.self)
        guard version == Self.version else {
            throw RepositoryError(.unsupportedVersion, "index version \(version) is not supported")
        }
        let count = Int(try reader.read(UInt32.self))
        var packs: [PackRecord] = []
        for _ in 0..<count {
            let id = PackID(try reader.readDigest())
            let size = Int(try reader.read(UInt64.self))
            let entryCount = Int(try reader.read(UInt32.self))
            guard entryCount <= reader.remaining / 46 else {
                throw RepositoryError(.malformed, "index is truncated")
            }
            var entries: [PackEntry] = []
            entries.reserveCapacity(entryCount)
            for _ in 0..<entryCount {
                let chunk = ChunkID(try reader.readDigest())
                guard let type = BlobType(rawValue: try reader.read(UInt8.self)),
                    let compression = Compression(rawValue: try reader.read(UInt8.self))
                else {
                    throw RepositoryError(.malformed, "index has an unknown blob type or encoding")
                }
                let offset = Int(try reader.read(UInt32.self))
                let length = Int(try reader.read(UInt32.self))
                let rawLength = Int(try reader.read(UInt32.self))
                entries.append(
                    PackEntry(
                        id: chunk, type: type, compression: compression, offset: offset,
                        length: length, rawLength: rawLength))
            }
            packs.append(PackRecord(id: id, size: size, entries: entries))
        }
        guard reader.remaining == 0 else {
            throw RepositoryError(.malformed, "index has trailing bytes")
        }
        self.packs = packs
    }
}

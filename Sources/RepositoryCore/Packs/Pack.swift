/// What kind of data a blob holds (FORMAT.md §6). Only chunks of dumps so far.
package enum BlobType: UInt8, Sendable, Hashable {
    case data = 0
}

/// How a blob's plaintext was encoded before sealing (FORMAT.md §5).
package enum Compression: UInt8, Sendable, Hashable {
    case none = 0
    case zstd = 1
}

/// One blob inside a pack.
package struct PackEntry: Hashable, Sendable {
    package var id: ChunkID
    package var type: BlobType
    package var compression: Compression
    /// Offset of the sealed blob from the start of the pack.
    package var offset: Int
    /// Length of the sealed blob.
    package var length: Int
    /// Length of the chunk before compression and sealing.
    package var rawLength: Int

    package init(
        id: ChunkID, type: BlobType, compression: Compression, offset: Int, length: Int,
        rawLength: Int
    ) {
        (self.id, self.type, self.compression) = (id, type, compression)
        (self.offset, self.length, self.rawLength) = (offset, length, rawLength)
    }

    /// Associated data of the blob's seal: binds it to its ID, type and encoding.
    var aad: [UInt8] {
        var aad: [UInt8] = [type.rawValue, compression.rawValue]
        id.digest.append(to: &aad)
        return aad
    }
}

/// Pack files: sealed blobs back to back, then the sealed header, its length and a magic
/// (FORMAT.md §6). Immutable once written; the header alone rebuilds the index.
package enum Pack {
    static let magic: [UInt8] = Array("ZPK1".utf8)
    static let headerAAD = Array("zentoria-pack-header".utf8)
    static let headerVersion: UInt8 = 1
    static let entrySize = 1 + 1 + 4 + 4 + 32
    static let trailerSize = 4 + 4

    /// Accumulates sealed blobs into one pack.
    package struct Builder: Sendable {
        private(set) var bytes: [UInt8] = []
        private(set) var entries: [PackEntry] = []

        /// - Parameter buffer: storage to reuse (its contents are dropped).
        package init(capacity: Int, reusing buffer: [UInt8]? = nil) {
            if let buffer {
                bytes = buffer
                bytes.removeAll(keepingCapacity: true)
            }
            bytes.reserveCapacity(capacity)
        }

        package var size: Int { bytes.count }
        package var isEmpty: Bool { entries.isEmpty }

        /// Appends a sealed blob.
        package mutating func append(
            id: ChunkID, compression: Compression, rawLength: Int, sealed: [UInt8]
        ) {
            entries.append(
                PackEntry(
                    id: id, type: .data, compression: compression, offset: bytes.count,
                    length: sealed.count, rawLength: rawLength))
            bytes.append(contentsOf: sealed)
        }

        /// This builder, leaving `replacement` in its place: the caller holds the only
        /// reference to the buffer, so ``finish(keys:)`` appends the header without a copy.
        package mutating func take(replacingWith replacement: Builder) -> Builder {
            var taken = replacement
            swap(&self, &taken)
            return taken
        }

        /// Seals the header and returns the finished pack, its ID and its entries.
        package consuming func finish(
            keys: RepositoryKeys
        ) throws -> (id: PackID, bytes: [UInt8], entries: [PackEntry]) {
            var header: [UInt8] = [Pack.headerVersion]
            header.reserveCapacity(5 + entries.count * Pack.entrySize)
            header.appendLittleEndian(UInt32(entries.count))
            for entry in entries {
                header.append(entry.type.rawValue)
                header.append(entry.compression.rawValue)
                header.appendLittleEndian(UInt32(entry.length))
                header.appendLittleEndian(UInt32(entry.rawLength))
                entry.id.digest.append(to: &header)
            }
            let sealed = try keys.seal(header, authenticating: Pack.headerAAD)
            // Take the buffer (the builder is consumed): appending then needs no copy.
            var bytes = self.bytes
            self.bytes = []
            bytes.append(contentsOf: sealed)
            bytes.appendLittleEndian(UInt32(sealed.count))
            bytes.append(contentsOf: Pack.magic)
            let id = PackID(SHA256Hasher.digest(bytes))
            return (id, bytes, entries)
        }
    }

    /// Parses and authenticates a whole pack's header; `bytes` is the complete pack file.
    /// Checks that the blobs tile the space before the header exactly.
    /// - Throws: `.malformed` for a foreign or truncated file, `.integrity` for a header that
    ///   does not authenticate.
    package static func entries(of bytes: [UInt8], keys: RepositoryKeys) throws -> [PackEntry] {
        let range = try headerRange(trailer: bytes.suffix(trailerSize), packSize: bytes.count)
        return try entries(sealedHeader: bytes[range], headerStart: range.lowerBound, keys: keys)
    }

    /// Reads only a stored pack's trailer and header: two ranged reads, whatever its size.
    package static func entries(
        of pack: PackID, size: Int, in store: any BlobStore, keys: RepositoryKeys
    ) async throws -> [PackEntry] {
        let name = ObjectName(.data, pack.digest.hex)
        guard size >= trailerSize else {
            throw RepositoryError(.malformed, "pack \(pack.shortDescription) is too short")
        }
        let trailer = try await store.get(name, range: (size - trailerSize)..<size)
        let range = try headerRange(trailer: trailer[...], packSize: size)
        let header = try await store.get(name, range: range)
        return try entries(sealedHeader: header[...], headerStart: range.lowerBound, keys: keys)
    }

    /// Where the sealed header lies, from the pack's last 8 bytes.
    static func headerRange(trailer: ArraySlice<UInt8>, packSize: Int) throws -> Range<Int> {
        guard trailer.count == trailerSize, Array(trailer.suffix(4)) == magic else {
            throw RepositoryError(.malformed, "not a pack file (no trailer magic)")
        }
        var reader = ByteReader(trailer, what: "pack trailer")
        let headerLength = Int(try reader.read(UInt32.self))
        guard headerLength >= RepositoryKeys.sealOverhead, headerLength <= packSize - trailerSize
        else {
            throw RepositoryError(.malformed, "pack header length \(headerLength) is impossible")
        }
        return (packSize - trailerSize - headerLength)..<(packSize - trailerSize)
    }

    /// Opens a sealed header and checks that its blobs end exactly where it starts.
    static func entries(
        sealedHeader: ArraySlice<UInt8>, headerStart: Int, keys: RepositoryKeys
    ) throws -> [PackEntry] {
        let header = try keys.open(sealedHeader, authenticating: headerAAD)
        var reader = ByteReader(header[...], what: "pack header")
        guard try reader.read(UInt8.self) == headerVersion else {
            throw RepositoryError(.unsupportedVersion, "pack header version unknown")
        }
        let count = Int(try reader.read(UInt32.self))
        guard count * entrySize == reader.remaining else {
            throw RepositoryError(
                .malformed, "pack header lists \(count) blobs but has \(reader.remaining) bytes")
        }
        var entries: [PackEntry] = []
        entries.reserveCapacity(count)
        var offset = 0
        for _ in 0..<count {
            guard let type = BlobType(rawValue: try reader.read(UInt8.self)),
                let compression = Compression(rawValue: try reader.read(UInt8.self))
            else {
                throw RepositoryError(
                    .malformed, "pack header has an unknown blob type or encoding")
            }
            let length = Int(try reader.read(UInt32.self))
            let rawLength = Int(try reader.read(UInt32.self))
            let id = ChunkID(try reader.readDigest())
            entries.append(
                PackEntry(
                    id: id, type: type, compression: compression, offset: offset,
                    length: length, rawLength: rawLength))
            offset += length
        }
        guard offset == headerStart else {
            throw RepositoryError(
                .malformed, "pack blobs cover \(offset) bytes, header starts at \(headerStart)")
        }
        return entries
    }
}

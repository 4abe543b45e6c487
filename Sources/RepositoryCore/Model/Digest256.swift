/// A 256-bit digest: the shape of every identifier in a repository (FORMAT.md §2).
///
/// Stored as four big-endian words so hashing and comparison stay cheap on hot paths.
package struct Digest256: Hashable, Sendable, Comparable {
    package static let byteCount = 32

    private var w0: UInt64
    private var w1: UInt64
    private var w2: UInt64
    private var w3: UInt64

    /// Creates a digest from exactly 32 bytes.
    package init<C: Collection<UInt8>>(bytes: C) {
        precondition(bytes.count == Self.byteCount, "a digest has 32 bytes, got \(bytes.count)")
        var words: [UInt64] = [0, 0, 0, 0]
        for (offset, byte) in bytes.enumerated() {
            words[offset / 8] = words[offset / 8] << 8 | UInt64(byte)
        }
        (w0, w1, w2, w3) = (words[0], words[1], words[2], words[3])
    }

    /// Creates a digest from 32 bytes at `offset` of a raw buffer.
    package init(reading buffer: UnsafeRawBufferPointer, at offset: Int) {
        precondition(offset >= 0 && offset + Self.byteCount <= buffer.count, "digest out of range")
        func word(_ index: Int) -> UInt64 {
            UInt64(
                bigEndian: buffer.loadUnaligned(fromByteOffset: offset + index * 8, as: UInt64.self)
            )
        }
        (w0, w1, w2, w3) = (word(0), word(1), word(2), word(3))
    }

    /// Parses 64 hexadecimal digits; `nil` for anything else.
    package init?(hex: some StringProtocol) {
        let utf8 = Array(hex.utf8)
        guard utf8.count == 64 else { return nil }
        var bytes = [UInt8]()
        bytes.reserveCapacity(32)
        var index = 0
        while index < 64 {
            guard let high = Self.nibble(utf8[index]), let low = Self.nibble(utf8[index + 1]) else {
                return nil
            }
            bytes.append(high << 4 | low)
            index += 2
        }
        self.init(bytes: bytes)
    }

    /// The 32 bytes, most significant first.
    package var bytes: [UInt8] {
        var result = [UInt8]()
        result.reserveCapacity(32)
        append(to: &result)
        return result
    }

    /// Appends the 32 bytes to `buffer`.
    package func append(to buffer: inout [UInt8]) {
        for word in [w0, w1, w2, w3] {
            for shift in stride(from: 56, through: 0, by: -8) {
                buffer.append(UInt8(truncatingIfNeeded: word >> UInt64(shift)))
            }
        }
    }

    /// Lower-case hexadecimal, 64 digits.
    package var hex: String {
        let digits = Array("0123456789abcdef".utf8)
        var utf8 = [UInt8]()
        utf8.reserveCapacity(64)
        for byte in bytes {
            utf8.append(digits[Int(byte >> 4)])
            utf8.append(digits[Int(byte & 0x0f)])
        }
        return String(decoding: utf8, as: UTF8.self)
    }

    package static func < (lhs: Self, rhs: Self) -> Bool {
        (lhs.w0, lhs.w1, lhs.w2, lhs.w3) < (rhs.w0, rhs.w1, rhs.w2, rhs.w3)
    }

    private static func nibble(_ c: UInt8) -> UInt8? {
        switch c {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): c - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): c - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): c - UInt8(ascii: "A") + 10
        default: nil
        }
    }
}

/// An identifier backed by a ``Digest256``; each kind of object has its own type.
package protocol RepositoryID: Hashable, Sendable, Comparable, CustomStringConvertible {
    /// The digest this identifier wraps.
    var digest: Digest256 { get }
    /// Wraps a digest.
    init(_ digest: Digest256)
}

extension RepositoryID {
    package var description: String { digest.hex }
    /// The first 8 hex digits, as shown in tables.
    package var shortDescription: String { String(digest.hex.prefix(8)) }
    package init?(hex: some StringProtocol) {
        guard let digest = Digest256(hex: hex) else { return nil }
        self.init(digest)
    }
    package static func < (lhs: Self, rhs: Self) -> Bool { lhs.digest < rhs.digest }
}

/// Keyed hash of a chunk's plaintext (HMAC-SHA-256 under the chunk-id key).
package struct ChunkID: RepositoryID {
    package var digest: Digest256
    package init(_ digest: Digest256) { self.digest = digest }
}

/// SHA-256 of a pack file's bytes; also its name in the store.
package struct PackID: RepositoryID {
    package var digest: Digest256
    package init(_ digest: Digest256) { self.digest = digest }
}

/// SHA-256 of a sealed snapshot object; also its name in the store.
package struct SnapshotID: RepositoryID {
    package var digest: Digest256
    package init(_ digest: Digest256) { self.digest = digest }
}

/// SHA-256 of a sealed index object; also its name in the store.
package struct IndexID: RepositoryID {
    package var digest: Digest256
    package init(_ digest: Digest256) { self.digest = digest }
}

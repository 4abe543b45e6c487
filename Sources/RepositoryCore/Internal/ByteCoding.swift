/// Little-endian integer encoding for the binary parts of the format (FORMAT.md §1).
extension Array where Element == UInt8 {
    mutating func appendLittleEndian<T: FixedWidthInteger>(_ value: T) {
        Swift.withUnsafeBytes(of: value.littleEndian) { append(contentsOf: $0) }
    }
}

/// Reads a binary record front to back; every read checks bounds.
struct ByteReader {
    let bytes: ArraySlice<UInt8>
    private(set) var position: Int
    let what: String

    init(_ bytes: ArraySlice<UInt8>, what: String) {
        (self.bytes, self.position, self.what) = (bytes, bytes.startIndex, what)
    }

    var remaining: Int { bytes.endIndex - position }

    mutating func take(_ count: Int) throws -> ArraySlice<UInt8> {
        guard count >= 0, count <= remaining else {
            throw RepositoryError(.malformed, "\(what) is truncated")
        }
        defer { position += count }
        return bytes[position..<position + count]
    }

    mutating func read<T: FixedWidthInteger>(_: T.Type) throws -> T {
        let slice = try take(MemoryLayout<T>.size)
        return slice.reversed().reduce(T(0)) { $0 << 8 | T($1) }
    }

    mutating func readDigest() throws -> Digest256 {
        Digest256(bytes: try take(Digest256.byteCount))
    }
}

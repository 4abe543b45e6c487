import Foundation

/// Content-defined chunking: FastCDC with normalized chunking (level 2) over a gear table
/// derived from the repository's secret seed (FORMAT.md §4).
///
/// Feed bytes with ``append(_:)``, or let a reader write them in place with
/// ``append(upTo:from:)``; take chunks with ``next(isFinal:)``. Boundaries depend only
/// on content and seed, never on how the input was split into buffers, so an edit moves at
/// most the boundaries near it. Not copyable: chunks share its buffer.
package struct Chunker: ~Copyable, Sendable {
    package let parameters: ChunkerParameters
    private let gear: GearTable
    private let smallMask: UInt64
    private let largeMask: UInt64
    private let blockCapacity: Int
    private var block: ChunkBlock
    /// The first byte of `block` not yet returned as a chunk.
    private var start = 0
    /// The previous block: chunks may still refer to it.
    private var spare: ChunkBlock?

    /// - Parameter gear: 256 pseudo-random words from ``GearTable/init(seed:)``.
    package init(parameters: ChunkerParameters, gear: GearTable) {
        self.parameters = parameters
        self.gear = gear
        let bits = parameters.averageSize.trailingZeroBitCount
        // Masks use the top bits of the rolling hash: they depend on the last 64 bytes.
        smallMask = Self.topBits(bits + 2)
        largeMask = Self.topBits(max(bits - 2, 1))
        // Room for two maximum chunks and several input blocks: the unchunked tail (less than
        // one maximum chunk) is copied to a new block only when the next input does not fit.
        blockCapacity = parameters.maximumSize * 2 + (8 << 20)
        block = ChunkBlock(capacity: blockCapacity)
    }

    /// Bytes buffered but not yet returned as chunks.
    package var bufferedCount: Int { block.count - start }

    /// Adds input.
    package mutating func append(_ bytes: some Collection<UInt8>) {
        makeRoom(for: bytes.count)
        let copied: Void? = bytes.withContiguousStorageIfAvailable { block.append($0) }
        if copied == nil { block.append(Array(bytes)) }
    }

    /// Adds input that `read` writes straight into the buffer, sparing a copy: `read` gets
    /// room for `maximum` bytes and returns how many it wrote.
    /// - Returns: the bytes added; 0 when `read` found no more input.
    package mutating func append(
        upTo maximum: Int, from read: (UnsafeMutableRawBufferPointer) async throws -> Int
    ) async rethrows -> Int {
        makeRoom(for: maximum)
        let room = UnsafeMutableRawBufferPointer(
            UnsafeMutableBufferPointer(rebasing: block.storage[block.count..<block.count + maximum])
        )
        let count = try await read(room)
        precondition((0...maximum).contains(count), "read reported \(count) of \(maximum) bytes")
        block.commit(count)
        return count
    }

    /// Makes room for `incoming` more bytes, moving the unchunked tail to another block
    /// when they do not fit after it.
    private mutating func makeRoom(for incoming: Int) {
        if block.count + incoming > block.storage.count {
            let tail = block.count - start
            let capacity = max(blockCapacity, tail + incoming)
            // The block before the current one is reused once no chunk refers to it.
            let fresh: ChunkBlock
            if var previous = spare.take(), isKnownUniquelyReferenced(&previous),
                previous.storage.count >= capacity
            {
                previous.removeAll()
                fresh = previous
            } else {
                fresh = ChunkBlock(capacity: capacity)
            }
            fresh.append(UnsafeBufferPointer(rebasing: block.storage[start..<block.count]))
            spare = block
            (block, start) = (fresh, 0)
        }
    }

    /// The next complete chunk, or `nil` when more input is needed. With `isFinal` the rest
    /// of the input is returned as chunks, the last one possibly shorter than the minimum.
    package mutating func next(isFinal: Bool) -> Chunk? {
        let available = block.count - start
        guard available > 0 else { return nil }
        guard isFinal || available >= parameters.maximumSize else { return nil }
        let length = cutPoint(UnsafeBufferPointer(rebasing: block.storage[start..<block.count]))
        let chunk = Chunk(block: block, range: start..<start + length)
        start += length
        return chunk
    }

    /// The length of the chunk that starts at `data`'s first byte.
    package func cutPoint(_ data: UnsafeBufferPointer<UInt8>) -> Int {
        let count = data.count
        if count <= parameters.minimumSize { return count }
        let end = min(count, parameters.maximumSize)
        let normal = min(parameters.averageSize, end)
        var hash: UInt64 = 0
        var index = parameters.minimumSize
        return gear.words.withUnsafeBufferPointer { table in
            let table = table.baseAddress!
            let bytes = data.baseAddress!
            if let cut = Self.scan(bytes, table, &index, &hash, to: normal, mask: smallMask) {
                return cut
            }
            return Self.scan(bytes, table, &index, &hash, to: end, mask: largeMask) ?? end
        }
    }

    /// Rolls the gear hash over `bytes[index..<limit]` and returns the length of the prefix
    /// that ends at the first byte whose hash has no bit of `mask` set, or `nil`.
    ///
    /// Four bytes per step: the hash after each of them is `hash << k` plus a sum of table
    /// words that does not depend on `hash`, so the loop-carried chain is one shift and one
    /// add per four bytes instead of per byte. The result is the byte-by-byte hash exactly.
    @inline(__always)
    private static func scan(
        _ bytes: UnsafePointer<UInt8>, _ table: UnsafePointer<UInt64>,
        _ index: inout Int, _ hash: inout UInt64, to limit: Int, mask: UInt64
    ) -> Int? {
        var i = index
        var h = hash
        defer { (index, hash) = (i, h) }
        while i &+ 4 <= limit {
            let t0 = table[Int(bytes[i])]
            let t1 = table[Int(bytes[i &+ 1])]
            let t2 = table[Int(bytes[i &+ 2])]
            let t3 = table[Int(bytes[i &+ 3])]
            let s1 = t0
            let s2 = (t0 &<< 1) &+ t1
            let s3 = (s2 &<< 1) &+ t2
            let s4 = (s3 &<< 1) &+ t3
            let h1 = (h &<< 1) &+ s1
            let h2 = (h &<< 2) &+ s2
            let h3 = (h &<< 3) &+ s3
            let h4 = (h &<< 4) &+ s4
            if (h1 & mask) == 0 || (h2 & mask) == 0 || (h3 & mask) == 0 || (h4 & mask) == 0 {
                if (h1 & mask) == 0 { return i &+ 1 }
                if (h2 & mask) == 0 { return i &+ 2 }
                if (h3 & mask) == 0 { return i &+ 3 }
                return i &+ 4
            }
            h = h4
            i &+= 4
        }
        while i < limit {
            h = (h &<< 1) &+ table[Int(bytes[i])]
            i &+= 1
            if (h & mask) == 0 { return i }
        }
        return nil
    }

    private static func topBits(_ count: Int) -> UInt64 {
        count >= 64 ? ~0 : ~(~UInt64(0) >> UInt64(count))
    }
}

/// The 256 words of the gear hash, derived from a secret seed so chunk boundaries reveal
/// nothing about content to someone without the key (FORMAT.md §4).
package struct GearTable: Sendable, Hashable {
    package let words: [UInt64]

    /// `words[i]` = first 8 bytes (big-endian) of SHA-256("zentoria-gear" ‖ seed ‖ i).
    package init(seed: [UInt8]) {
        words = (0..<256).map { i in
            let digest = SHA256Hasher.hash(Array("zentoria-gear".utf8) + seed + [UInt8(i)])
            return digest.prefix(8).reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
        }
    }
}

/// The bytes of one chunk, where the chunker buffered them: taking a chunk copies nothing.
package struct Chunk: Sendable, ContiguousBytes {
    fileprivate let block: ChunkBlock
    fileprivate let range: Range<Int>

    /// The chunk's length in bytes.
    package var count: Int { range.count }

    /// Calls `body` with the chunk's bytes, which are valid only during the call.
    package func withUnsafeBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        try body(UnsafeRawBufferPointer(UnsafeBufferPointer(rebasing: block.storage[range])))
    }
}

/// Append-only storage, `@unchecked Sendable` without a lock: only the chunker (not copyable)
/// touches `count` and the bytes above it, or a reader it hands them to and awaits; chunks
/// read only their own ranges below it, which are not written again while a chunk refers
/// to them.
private final class ChunkBlock: @unchecked Sendable {
    let storage: UnsafeMutableBufferPointer<UInt8>
    private(set) var count = 0

    init(capacity: Int) { storage = .allocate(capacity: capacity) }
    deinit { storage.deallocate() }

    /// - Precondition: the bytes fit.
    func append(_ bytes: UnsafeBufferPointer<UInt8>) {
        precondition(count + bytes.count <= storage.count, "\(bytes.count) bytes do not fit")
        guard let source = bytes.baseAddress, !bytes.isEmpty else { return }
        (storage.baseAddress! + count).initialize(from: source, count: bytes.count)
        count += bytes.count
    }

    func append(_ bytes: [UInt8]) { bytes.withUnsafeBufferPointer { append($0) } }

    /// Counts `added` bytes written above `count` as appended.
    /// - Precondition: they fit.
    func commit(_ added: Int) {
        precondition(added >= 0 && count + added <= storage.count, "\(added) bytes do not fit")
        count += added
    }

    /// - Precondition: no chunk refers to this block.
    func removeAll() { count = 0 }
}

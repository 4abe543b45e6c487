/// Content-defined chunking: FastCDC with normalized chunking (level 2) over a gear table
/// derived from the repository's secret seed (FORMAT.md §4).
///
/// Feed bytes with ``append(_:)``; take chunks with ``next(isFinal:)``. Boundaries depend only
/// on content and seed, never on how the input was split into buffers, so an edit moves at
/// most the boundaries near it.
package struct Chunker: Sendable {
    package let parameters: ChunkerParameters
    private let gear: GearTable
    private let smallMask: UInt64
    private let largeMask: UInt64
    private var pending: [UInt8] = []
    private var start = 0

    /// - Parameter gear: 256 pseudo-random words from ``GearTable/init(seed:)``.
    package init(parameters: ChunkerParameters, gear: GearTable) {
        self.parameters = parameters
        self.gear = gear
        let bits = parameters.averageSize.trailingZeroBitCount
        // Masks use the top bits of the rolling hash: they depend on the last 64 bytes.
        smallMask = Self.topBits(bits + 2)
        largeMask = Self.topBits(max(bits - 2, 1))
        pending.reserveCapacity(parameters.maximumSize * 2)
    }

    /// Bytes buffered but not yet returned as chunks.
    package var bufferedCount: Int { pending.count - start }

    /// Adds input.
    package mutating func append(_ bytes: some Collection<UInt8>) {
        if start > 0, start >= pending.count / 2 {
            pending.removeFirst(start)
            start = 0
        }
        pending.append(contentsOf: bytes)
    }

    /// The next complete chunk, or `nil` when more input is needed. With `isFinal` the rest
    /// of the input is returned as chunks, the last one possibly shorter than the minimum.
    package mutating func next(isFinal: Bool) -> [UInt8]? {
        let available = pending.count - start
        guard available > 0 else { return nil }
        guard isFinal || available >= parameters.maximumSize else { return nil }
        let length = pending.withUnsafeBufferPointer { buffer in
            cutPoint(UnsafeBufferPointer(rebasing: buffer[start..<buffer.count]))
        }
        let chunk = Array(pending[start..<start + length])
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

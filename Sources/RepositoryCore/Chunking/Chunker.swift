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
            while index < normal {
                hash = (hash &<< 1) &+ table[Int(bytes[index])]
                if hash & smallMask == 0 { return index + 1 }
                index += 1
            }
            while index < end {
                hash = (hash &<< 1) &+ table[Int(bytes[index])]
                if hash & largeMask == 0 { return index + 1 }
                index += 1
            }
            return end
        }
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

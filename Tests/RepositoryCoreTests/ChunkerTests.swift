import PropertyBased
import RepositoryCore
import TestSupport
import Testing

@Suite("Chunker")
struct ChunkerTests {
    static let parameters = ChunkerParameters(
        minimumSize: 2048, averageSize: 8192, maximumSize: 32768)

    static func bytes(_ chunk: Chunk) -> [UInt8] { chunk.withUnsafeBytes { Array($0) } }

    static func chunks(
        _ data: [UInt8], seed: [UInt8] = [1, 2, 3], blockSize: Int = 10_000
    ) -> [[UInt8]] {
        var chunker = Chunker(parameters: parameters, gear: GearTable(seed: seed))
        var result: [[UInt8]] = []
        var offset = 0
        while offset < data.count {
            chunker.append(data[offset..<min(offset + blockSize, data.count)])
            offset += blockSize
            while let chunk = chunker.next(isFinal: false) { result.append(Self.bytes(chunk)) }
        }
        while let chunk = chunker.next(isFinal: true) { result.append(Self.bytes(chunk)) }
        return result
    }

    @Test("chunks concatenate to the input and respect the size bounds")
    func concatenation() async {
        await propertyCheck(count: 30, input: Gen.int(in: 0...400_000), Gen.int(in: 1...70_000)) {
            length, blockSize in
            var random = SeededRandom(seed: UInt64(length))
            let data = random.bytes(length)
            let chunks = Self.chunks(data, blockSize: blockSize)
            #expect(Array(chunks.joined()) == data)
            for chunk in chunks.dropLast() {
                #expect(
                    chunk.count >= Self.parameters.minimumSize
                        && chunk.count <= Self.parameters.maximumSize)
            }
            #expect((chunks.last?.count ?? 0) <= Self.parameters.maximumSize)
        }
    }

    /// Held chunks keep their storage; dropped ones let the chunker reuse it.
    @Test(
        "chunks stay intact while later input moves the buffered tail to new storage",
        arguments: [true, false])
    func chunksOutliveStorageMoves(holdChunks: Bool) {
        var random = SeededRandom(seed: 23)
        let data = random.dumpLikeText(30_000_000)
        var chunker = Chunker(parameters: Self.parameters, gear: GearTable(seed: [7]))
        var held: [Chunk] = []
        var copied: [UInt8] = []
        func take(_ chunk: Chunk) {
            if holdChunks { held.append(chunk) } else { copied += Self.bytes(chunk) }
        }
        var offset = 0
        // Block sizes up to 3 MiB, and one block larger than the chunker's storage.
        for size in [1_000_003, 9_500_000, 3_145_728, 777] + Array(repeating: 1_048_576, count: 20)
        {
            let end = min(offset + size, data.count)
            chunker.append(data[offset..<end])
            offset = end
            while let chunk = chunker.next(isFinal: false) { take(chunk) }
        }
        chunker.append(data[offset...])
        while let chunk = chunker.next(isFinal: true) { take(chunk) }
        if holdChunks {
            #expect(held.count > 1000)
            copied = Array(held.map(Self.bytes).joined())
        }
        #expect(copied == data)
    }

    /// The path of `repo backup`: input read straight into the chunker's storage, in reads
    /// shorter than asked for (as from a pipe), while earlier chunks are still held.
    @Test("input read into the chunker's storage gives the chunks of appended input")
    func readIntoStorage() async {
        var random = SeededRandom(seed: 29)
        let data = random.dumpLikeText(12_000_000)
        let reference = Self.chunks(data, blockSize: data.count)
        var chunker = Chunker(parameters: Self.parameters, gear: GearTable(seed: [1, 2, 3]))
        var held: [Chunk] = []
        var offset = 0
        while true {
            let asked = [1 << 20, 3_000_000, 65_536, 9_500_000][held.count % 4]
            let added = await chunker.append(upTo: asked) { room in
                #expect(room.count == asked)
                let count = min(room.count, data.count - offset, Int(random.next() % 2_000_000))
                data[offset..<offset + count].withUnsafeBytes { room.copyMemory(from: $0) }
                offset += count
                return count
            }
            if added == 0 && offset == data.count { break }
            while let chunk = chunker.next(isFinal: false) { held.append(chunk) }
        }
        while let chunk = chunker.next(isFinal: true) { held.append(chunk) }
        #expect(held.map(Self.bytes) == reference)
    }

    @Test("boundaries do not depend on how the input is split", arguments: SeededRandom.seeds())
    func splitIndependence(seed: UInt64) {
        var random = SeededRandom(seed: seed)
        let data = random.dumpLikeText(300_000)
        let reference = Self.chunks(data, blockSize: data.count)
        for blockSize in [1, 777, 4096, 65_536] {
            #expect(
                Self.chunks(data, blockSize: blockSize) == reference,
                "seed \(seed), block size \(blockSize)")
        }
    }

    /// Resynchronisation is probabilistic (an edit can shift a few boundaries in a row), so
    /// the property is stated over distance: everything well past the edit is chunked as before.
    @Test("boundaries resynchronise after an insertion", arguments: SeededRandom.seeds())
    func resynchronisation(seed: UInt64) {
        var random = SeededRandom(seed: seed)
        let data = random.bytes(2_000_000)
        let position = Int(random.next() % 400_000)
        var edited = data
        edited.insert(contentsOf: random.bytes(1 + Int(random.next() % 100)), at: position)
        let before = Self.chunks(data)
        let after = Set(Self.chunks(edited))
        var offset = 0
        var farChunks = 0
        for chunk in before {
            if offset >= position + 16 * Self.parameters.maximumSize {
                #expect(after.contains(chunk), "seed \(seed): chunk at \(offset) changed")
                farChunks += 1
            }
            offset += chunk.count
        }
        #expect(farChunks > 50)
        let changed = Self.chunks(edited).filter { !Set(before).contains($0) }
        #expect(changed.count < 20, "seed \(seed): \(changed.count) chunks changed")
    }

    /// FORMAT.md §4, byte by byte: the chunker's unrolled loop must cut at the same places.
    static func referenceCutPoint(
        _ data: ArraySlice<UInt8>, _ parameters: ChunkerParameters, _ gear: GearTable
    ) -> Int {
        let count = data.count
        if count <= parameters.minimumSize { return count }
        let bits = parameters.averageSize.trailingZeroBitCount
        let topBits = { (k: Int) -> UInt64 in k >= 64 ? ~0 : ~(~UInt64(0) >> UInt64(k)) }
        let (maskS, maskL) = (topBits(bits + 2), topBits(max(bits - 2, 1)))
        let end = min(count, parameters.maximumSize)
        let normal = min(parameters.averageSize, end)
        var hash: UInt64 = 0
        for i in parameters.minimumSize..<end {
            hash = (hash &<< 1) &+ gear.words[Int(data[data.startIndex + i])]
            if hash & (i < normal ? maskS : maskL) == 0 { return i + 1 }
        }
        return end
    }

    @Test(
        "cut points are those of the byte-by-byte definition",
        arguments: [
            ChunkerParameters(minimumSize: 64, averageSize: 256, maximumSize: 1024),
            ChunkerParameters(minimumSize: 65, averageSize: 512, maximumSize: 1027),
            parameters,
        ])
    func cutPointsMatchDefinition(parameters: ChunkerParameters) {
        var random = SeededRandom(seed: 17)
        let gear = GearTable(seed: [4, 5, 6])
        let chunker = Chunker(parameters: parameters, gear: gear)
        for data in [random.bytes(300_000), random.dumpLikeText(300_000)] {
            var offset = 0
            var cuts = 0
            while offset < data.count {
                // Every length from 0 to a little past the maximum, at every alignment.
                let length = min(
                    data.count - offset, Int(random.next() % UInt64(parameters.maximumSize + 9)))
                let slice = data[offset..<offset + length]
                let expected = Self.referenceCutPoint(slice, parameters, gear)
                let actual = slice.withUnsafeBufferPointer { chunker.cutPoint($0) }
                #expect(actual == expected, "offset \(offset), length \(length)")
                if actual != expected { return }
                if expected < length { cuts += 1 }
                offset += max(expected, 1)
            }
            #expect(cuts > 10)
        }
    }

    @Test("the secret seed changes the boundaries")
    func seedMatters() {
        var random = SeededRandom(seed: 9)
        let data = random.bytes(400_000)
        #expect(Self.chunks(data, seed: [1]) != Self.chunks(data, seed: [2]))
    }

    @Test("average chunk size is near the target on random data")
    func averageSize() {
        var random = SeededRandom(seed: 5)
        let chunks = Self.chunks(random.bytes(4_000_000))
        let average = 4_000_000 / chunks.count
        #expect(average > 8192 / 2 && average < 8192 * 2, "average \(average)")
    }

    @Test("invalid parameters are refused with a reason")
    func invalidParameters() {
        #expect(throws: RepositoryError(.invalidArgument, "")) {
            try ChunkerParameters(minimumSize: 4096, averageSize: 3000, maximumSize: 9000)
                .validate()
        }
        #expect(throws: RepositoryError(.invalidArgument, "")) {
            try ChunkerParameters(minimumSize: 9000, averageSize: 8192, maximumSize: 90000)
                .validate()
        }
    }
}

import RepositoryCore
import TestSupport
import Testing

@Suite("Sealing, key slots and packs")
struct SealingTests {
    let keys = RepositoryKeys.generate()

    @Test("seal then open is the identity", arguments: [0, 1, 100, 65_536])
    func roundTrip(size: Int) throws {
        var random = SeededRandom(seed: UInt64(size))
        let plain = random.bytes(size)
        let sealed = try keys.seal(plain, authenticating: [7])
        #expect(sealed.count == size + RepositoryKeys.sealOverhead)
        #expect(try keys.open(sealed[...], authenticating: [7]) == plain)
    }

    @Test("any flipped byte fails authentication", arguments: SeededRandom.seeds())
    func flippedByte(seed: UInt64) throws {
        var random = SeededRandom(seed: seed)
        let sealed = try keys.seal(random.bytes(300), authenticating: [])
        for position in [
            0, 11, 12, 100, sealed.count - 17, sealed.count - 1,
            Int(random.next() % UInt64(sealed.count)),
        ] {
            var damaged = sealed
            damaged[position] ^= UInt8(1 << (random.next() % 8))
            #expect(throws: RepositoryError(.integrity, "")) {
                try keys.open(damaged[...], authenticating: [])
            }
        }
    }

    @Test("other associated data or another key fails authentication")
    func bindings() throws {
        let sealed = try keys.seal([1, 2, 3], authenticating: [1])
        #expect(throws: RepositoryError(.integrity, "")) {
            try keys.open(sealed[...], authenticating: [2])
        }
        #expect(throws: RepositoryError(.integrity, "")) {
            try RepositoryKeys.generate().open(sealed[...], authenticating: [1])
        }
    }

    @Test("chunk IDs are keyed")
    func keyedIDs() {
        let other = RepositoryKeys.generate()
        #expect(keys.chunkID([1, 2, 3]) == keys.chunkID([1, 2, 3]))
        #expect(keys.chunkID([1, 2, 3]) != other.chunkID([1, 2, 3]))
    }

    @Test("a key slot opens with its password only")
    func keySlot() throws {
        let slot = try KeySlot.make(
            keys: keys, password: Array("pw".utf8), parameters: .insecureForTestsOnly, hostname: "h"
        )
        let opened = try slot.open(password: Array("pw".utf8))
        #expect(opened.chunkID([9]) == keys.chunkID([9]))
        #expect(throws: RepositoryError(.wrongPassword, "")) {
            try slot.open(password: Array("pW".utf8))
        }
    }

    @Test("a pack reads back as written")
    func packRoundTrip() throws {
        var builder = Pack.Builder(capacity: 0)
        var random = SeededRandom(seed: 3)
        for _ in 0..<5 {
            let chunk = random.bytes(1000)
            let id = keys.chunkID(chunk)
            builder.append(
                id: id, compression: .none, rawLength: chunk.count,
                sealed: try keys.seal(chunk, authenticating: []))
        }
        let (id, bytes, entries) = try builder.finish(keys: keys)
        #expect(try Pack.entries(of: bytes, keys: keys) == entries)
        #expect(id == PackID(SHA256Hasher.digest(bytes)))
    }

    @Test("a builder reusing a written pack's buffer holds only its own blobs")
    func packBufferReuse() throws {
        var first = Pack.Builder(capacity: 0)
        let old = Array(repeating: UInt8(7), count: 5000)
        first.append(
            id: keys.chunkID(old), compression: .none, rawLength: old.count,
            sealed: try keys.seal(old, authenticating: []))
        let (_, oldBytes, _) = try first.finish(keys: keys)

        let chunk = Array(repeating: UInt8(9), count: 300)
        let sealed = try keys.seal(chunk, authenticating: [])
        var reused = Pack.Builder(capacity: 100, reusing: oldBytes)
        #expect(reused.size == 0 && reused.isEmpty)
        reused.append(
            id: keys.chunkID(chunk), compression: .none, rawLength: chunk.count, sealed: sealed)
        let (id, bytes, entries) = try reused.finish(keys: keys)
        #expect(entries.count == 1 && entries[0].offset == 0 && entries[0].length == sealed.count)
        #expect(Array(bytes.prefix(sealed.count)) == sealed)
        #expect(try Pack.entries(of: bytes, keys: keys) == entries)
        #expect(id == PackID(SHA256Hasher.digest(bytes)))
        #expect(oldBytes.count > bytes.count)  // the written pack itself is untouched
        #expect(try Pack.entries(of: oldBytes, keys: keys).count == 1)
    }

    @Test("damaged, truncated and foreign packs give clear errors")
    func damagedPacks() throws {
        var builder = Pack.Builder(capacity: 0)
        let chunk: [UInt8] = Array(repeating: 5, count: 500)
        builder.append(
            id: keys.chunkID(chunk), compression: .none, rawLength: 500,
            sealed: try keys.seal(chunk, authenticating: []))
        let (_, bytes, _) = try builder.finish(keys: keys)
        var header = bytes
        header[bytes.count - 20] ^= 0x40
        #expect(throws: RepositoryError(.integrity, "")) {
            try Pack.entries(of: header, keys: keys)
        }
        #expect(throws: RepositoryError(.malformed, "")) {
            try Pack.entries(of: Array(bytes.dropLast(3)), keys: keys)
        }
        #expect(throws: RepositoryError(.malformed, "")) {
            try Pack.entries(of: Array("hello, world".utf8), keys: keys)
        }
        #expect(throws: RepositoryError(.malformed, "")) { try Pack.entries(of: [], keys: keys) }
        var length = bytes
        length[bytes.count - 8] = 0xFF
        length[bytes.count - 7] = 0xFF
        #expect(throws: RepositoryError(.malformed, "")) {
            try Pack.entries(of: length, keys: keys)
        }
    }
}

import Components
import Foundation
import Testing

#if canImport(Glibc)
    import Glibc
#endif

@Suite("File descriptor reader")
struct FileDescriptorReaderTests {
    @Test("a pipe is enlarged to a block, and every byte arrives in order in full blocks")
    func pipe() async throws {
        let (readEnd, writeEnd) = try Self.makePipe()
        defer { close(readEnd) }
        let getPipeSize: Int32 = 1032  // F_GETPIPE_SZ
        #expect(fcntl(readEnd, getPipeSize) == 64 * 1024)

        let blockSize = 1 << 20
        let reader = FileDescriptorReader(descriptor: readEnd, blockSize: blockSize)
        #expect(fcntl(readEnd, getPipeSize) == Int32(blockSize))

        let total = 3 * blockSize + 12_345
        Self.write(total, to: writeEnd)

        var received: [UInt8] = []
        var sizes: [Int] = []
        for try await block in reader {
            sizes.append(block.count)
            received.append(contentsOf: block)
        }
        #expect(sizes == [blockSize, blockSize, blockSize, 12_345])
        #expect(received.count == total)
        #expect(received.enumerated().allSatisfy { $0.element == UInt8($0.offset % 251) })
    }

    @Test("reading into a buffer fills it until the input ends")
    func readIntoBuffer() async throws {
        let (readEnd, writeEnd) = try Self.makePipe()
        defer { close(readEnd) }
        let reader = FileDescriptorReader(descriptor: readEnd)
        let total = 2_500_000
        Self.write(total, to: writeEnd)

        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 20, alignment: 1)
        defer { buffer.deallocate() }
        var received: [UInt8] = []
        var sizes: [Int] = []
        while true {
            let count = try await reader.read(into: buffer)
            sizes.append(count)
            if count == 0 { break }
            received.append(contentsOf: buffer[..<count])
        }
        #expect(sizes == [1 << 20, 1 << 20, total - (2 << 20), 0])
        #expect(received.count == total)
        #expect(received.enumerated().allSatisfy { $0.element == UInt8($0.offset % 251) })
    }

    @Test("a read error is reported, not taken for the end of input")
    func readError() async throws {
        // A descriptor opened for writing only: read(2) fails with EBADF.
        let path = NSTemporaryDirectory() + "reader-\(UUID().uuidString)"
        defer { unlink(path) }
        let writeOnly = open(path, O_WRONLY | O_CREAT, 0o600)
        defer { close(writeOnly) }
        let reader = FileDescriptorReader(descriptor: writeOnly)
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 16, alignment: 1)
        defer { buffer.deallocate() }
        await #expect(throws: ComponentError.self) { try await reader.read(into: buffer) }
        await #expect(throws: ComponentError.self) {
            for try await _ in reader {}
        }
    }

    static func makePipe() throws -> (read: Int32, write: Int32) {
        var fds: [Int32] = [0, 0]
        try #require(Glibc.pipe(&fds) == 0)
        return (fds[0], fds[1])
    }

    /// Writes `total` bytes (byte i is i % 251) in odd-sized pieces, as a dump tool writes,
    /// then closes `descriptor`.
    static func write(_ total: Int, to descriptor: Int32) {
        let writer = Thread {
            var offset = 0
            while offset < total {
                let piece = (0..<min(7_919, total - offset)).map {
                    UInt8(truncatingIfNeeded: (offset + $0) % 251)
                }
                piece.withUnsafeBytes { buffer in
                    var done = 0
                    while done < buffer.count {
                        let n = Glibc.write(
                            descriptor, buffer.baseAddress! + done, buffer.count - done)
                        precondition(n > 0)
                        done += n
                    }
                }
                offset += piece.count
            }
            close(descriptor)
        }
        writer.start()
    }

    @Test("a regular file is read as it is")
    func file() async throws {
        let path = NSTemporaryDirectory() + "reader-\(UUID().uuidString)"
        defer { unlink(path) }
        let bytes = (0..<100_000).map { UInt8(truncatingIfNeeded: $0 &* 31) }
        #expect(FileManager.default.createFile(atPath: path, contents: Data(bytes)))
        let fd = open(path, O_RDONLY)
        #expect(fd >= 0)
        defer { close(fd) }
        var received: [UInt8] = []
        for try await block in FileDescriptorReader(descriptor: fd, blockSize: 4096) {
            #expect(block.count <= 4096)
            received.append(contentsOf: block)
        }
        #expect(received == bytes)
    }
}

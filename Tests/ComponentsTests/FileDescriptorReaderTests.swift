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
        var fds: [Int32] = [0, 0]
        #expect(Glibc.pipe(&fds) == 0)
        let (readEnd, writeEnd) = (fds[0], fds[1])
        defer { close(readEnd) }
        let getPipeSize: Int32 = 1032  // F_GETPIPE_SZ
        #expect(fcntl(readEnd, getPipeSize) == 64 * 1024)

        let blockSize = 1 << 20
        let reader = FileDescriptorReader(descriptor: readEnd, blockSize: blockSize)
        #expect(fcntl(readEnd, getPipeSize) == Int32(blockSize))

        // A writer in odd-sized pieces, as a dump tool writes.
        let total = 3 * blockSize + 12_345
        let writer = Thread {
            var offset = 0
            while offset < total {
                let piece = (0..<min(7_919, total - offset)).map {
                    UInt8(truncatingIfNeeded: (offset + $0) % 251)
                }
                piece.withUnsafeBytes { buffer in
                    var done = 0
                    while done < buffer.count {
                        let n = write(writeEnd, buffer.baseAddress! + done, buffer.count - done)
                        precondition(n > 0)
                        done += n
                    }
                }
                offset += piece.count
            }
            close(writeEnd)
        }
        writer.start()

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

import Dispatch

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Bytes read from a file descriptor (stdin, a pipe, a file) as an async sequence of blocks.
///
/// Reads run on a private dispatch queue so a slow producer never blocks the concurrency pool.
package struct FileDescriptorReader: AsyncSequence, Sendable {
    package typealias Element = [UInt8]
    private let descriptor: Int32
    private let blockSize: Int
    private let queue = DispatchQueue(label: "zentoria.fd-reader")

    package init(descriptor: Int32, blockSize: Int = 1 << 20) {
        (self.descriptor, self.blockSize) = (descriptor, blockSize)
        Self.enlargePipe(descriptor, to: blockSize)
    }

    /// A pipe holds 64 KiB by default, so a 1 MiB read waits for the writer 16 times; one that
    /// holds a whole block halves the context switches of `pg_dump | …` (README, "Channel cost").
    /// Not a pipe, or a size above the system's limit: left as it is.
    private static func enlargePipe(_ descriptor: Int32, to size: Int) {
        #if os(Linux)
            var status = stat()
            guard fstat(descriptor, &status) == 0, status.st_mode & S_IFMT == S_IFIFO else {
                return
            }
            let setPipeSize: Int32 = 1031  // F_SETPIPE_SZ, Linux-only and not imported
            _ = fcntl(descriptor, setPipeSize, Int32(Swift.min(size, 1 << 20)))
        #endif
    }

    package func makeAsyncIterator() -> Iterator {
        Iterator(descriptor: descriptor, blockSize: blockSize, queue: queue)
    }

    /// Reads into `buffer` until it is full or the input ends, sparing the copy out of a
    /// block; returns the bytes read, fewer than `buffer.count` only at the end of input.
    /// The read finishes before this returns, also when the task is cancelled (the
    /// continuation has no cancellation handler), so `buffer` need outlive only the call.
    package func read(into buffer: UnsafeMutableRawBufferPointer) async throws -> Int {
        let target = ReadTarget(buffer: buffer)
        let descriptor = self.descriptor
        return try await withCheckedThrowingContinuation { continuation in
            queue.async {
                continuation.resume(with: Result { try Self.fill(target.buffer, from: descriptor) })
            }
        }
    }

    /// The buffer a read fills on the reader's queue, `@unchecked Sendable` without a lock:
    /// it is handed over to the queue and back through the continuation, and the caller
    /// touches it only after resuming.
    private struct ReadTarget: @unchecked Sendable {
        let buffer: UnsafeMutableRawBufferPointer
    }

    /// Reads until `buffer` is full or the input ends; returns the bytes read.
    fileprivate static func fill(
        _ buffer: UnsafeMutableRawBufferPointer, from descriptor: Int32
    ) throws -> Int {
        guard let base = buffer.baseAddress else { return 0 }
        var filled = 0
        while filled < buffer.count {
            let n = systemRead(descriptor, base + filled, buffer.count - filled)
            if n < 0 {
                if errno == EINTR { continue }
                throw ComponentError(
                    .dumpFailed, "read failed: \(String(cString: strerror(errno)))")
            }
            if n == 0 { break }
            filled += n
        }
        return filled
    }

    package struct Iterator: AsyncIteratorProtocol {
        private let descriptor: Int32
        private let blockSize: Int
        private let queue: DispatchQueue
        private var isFinished = false

        init(descriptor: Int32, blockSize: Int, queue: DispatchQueue) {
            (self.descriptor, self.blockSize, self.queue) = (descriptor, blockSize, queue)
        }

        package mutating func next() async throws -> [UInt8]? {
            guard !isFinished else { return nil }
            let (descriptor, blockSize) = (self.descriptor, self.blockSize)
            let block: [UInt8] = try await withCheckedThrowingContinuation { continuation in
                queue.async {
                    continuation.resume(with: Result { try Self.readBlock(descriptor, blockSize) })
                }
            }
            if block.isEmpty {
                isFinished = true
                return nil
            }
            return block
        }

        /// Reads until `size` bytes or end of input; empty means end of input.
        private static func readBlock(_ descriptor: Int32, _ size: Int) throws -> [UInt8] {
            try [UInt8](unsafeUninitializedCapacity: size) { buffer, count in
                count = try FileDescriptorReader.fill(
                    UnsafeMutableRawBufferPointer(buffer), from: descriptor)
            }
        }
    }
}

/// read(2), named apart from ``FileDescriptorReader/read(into:)``.
private func systemRead(_ descriptor: Int32, _ buffer: UnsafeMutableRawPointer, _ count: Int) -> Int
{
    read(descriptor, buffer, count)
}

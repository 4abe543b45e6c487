import CZstd
import Synchronization

/// zstd compression of single chunks, with contexts reused across calls (FORMAT.md §5).
package final class Zstd: Sendable {
    package let level: Int32
    private let compressionContexts = Mutex<[CompressionContext]>([])
    private let decompressionContexts = Mutex<[DecompressionContext]>([])

    package init(level: Int32 = 3) { self.level = level }

    /// Compresses `input`; returns `nil` when the result would not be smaller.
    package func compress(_ input: [UInt8]) -> [UInt8]? {
        let context = compressionContexts.withLock { $0.popLast() } ?? CompressionContext()
        defer { compressionContexts.withLock { $0.append(context) } }
        let bound = ZSTD_compressBound(input.count)
        var output = [UInt8](repeating: 0, count: bound)
        let written = output.withUnsafeMutableBytes { out in
            input.withUnsafeBytes { src in
                ZSTD_compressCCtx(context.pointer, out.baseAddress, out.count, src.baseAddress, src.count, level)
            }
        }
        guard ZSTD_isError(written) == 0, written < input.count else { return nil }
        output.removeLast(output.count - written)
        return output
    }

    /// Decompresses a frame that must expand to exactly `expectedSize` bytes.
    /// - Throws: ``RepositoryError/Code/malformed`` when the frame is damaged or the size differs.
    package func decompress(_ input: ArraySlice<UInt8>, expectedSize: Int) throws -> [UInt8] {
        let context = decompressionContexts.withLock { $0.popLast() } ?? DecompressionContext()
        defer { decompressionContexts.withLock { $0.append(context) } }
        var failure: Int = 0
        let output = [UInt8](unsafeUninitializedCapacity: expectedSize) { out, count in
            let n = input.withUnsafeBytes { src in
                ZSTD_decompressDCtx(context.pointer, out.baseAddress, expectedSize, src.baseAddress, src.count)
            }
            if ZSTD_isError(n) != 0 { failure = n; count = 0 } else { count = n }
        }
        guard failure == 0 else {
            throw RepositoryError(.malformed, "zstd: \(String(cString: ZSTD_getErrorName(failure)))")
        }
        guard output.count == expectedSize else {
            throw RepositoryError(.malformed, "zstd frame expands to \(output.count) bytes, expected \(expectedSize)")
        }
        return output
    }
}

private final class CompressionContext: @unchecked Sendable {  // used by one caller at a time (pool Mutex)
    let pointer: OpaquePointer
    init() { pointer = ZSTD_createCCtx() }
    deinit { ZSTD_freeCCtx(pointer) }
}

private final class DecompressionContext: @unchecked Sendable {  // used by one caller at a time (pool Mutex)
    let pointer: OpaquePointer
    init() { pointer = ZSTD_createDCtx() }
    deinit { ZSTD_freeDCtx(pointer) }
}

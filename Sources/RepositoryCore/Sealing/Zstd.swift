import CZstd
package import Foundation
import Synchronization

/// zstd compression of single chunks, with contexts reused across calls (FORMAT.md §5).
package final class Zstd: Sendable {
    package let level: Int32
    private let compressionContexts = Mutex<[CompressionContext]>([])
    private let decompressionContexts = Mutex<[DecompressionContext]>([])

    package init(level: Int32 = 3) { self.level = level }

    /// Compresses `input`; returns `nil` when the result would not be smaller.
    package func compress(_ input: some ContiguousBytes) -> [UInt8]? {
        let context =
            compressionContexts.withLock { $0.popLast() } ?? CompressionContext(level: level)
        defer { compressionContexts.withLock { $0.append(context) } }
        return input.withUnsafeBytes { source in
            // Output that does not shrink is discarded, so the buffer never needs the full bound.
            let capacity = source.count
            var written = 0
            let output = [UInt8](unsafeUninitializedCapacity: capacity) { out, count in
                written = ZSTD_compress2(
                    context.pointer, out.baseAddress, capacity, source.baseAddress, source.count)
                count = ZSTD_isError(written) == 0 ? written : 0
            }
            guard ZSTD_isError(written) == 0, written < source.count else { return nil }
            return output
        }
    }

    /// Decompresses a frame that must expand to exactly `expectedSize` bytes.
    /// - Throws: ``RepositoryError/Code/malformed`` when the frame is damaged or the size differs.
    package func decompress(_ input: ArraySlice<UInt8>, expectedSize: Int) throws -> [UInt8] {
        let context = decompressionContexts.withLock { $0.popLast() } ?? DecompressionContext()
        defer { decompressionContexts.withLock { $0.append(context) } }
        var failure: Int = 0
        let output = [UInt8](unsafeUninitializedCapacity: expectedSize) { out, count in
            let n = input.withUnsafeBytes { src in
                ZSTD_decompressDCtx(
                    context.pointer, out.baseAddress, expectedSize, src.baseAddress, src.count)
            }
            if ZSTD_isError(n) != 0 {
                failure = n
                count = 0
            } else {
                count = n
            }
        }
        guard failure == 0 else {
            throw RepositoryError(
                .malformed, "zstd: \(String(cString: ZSTD_getErrorName(failure)))")
        }
        guard output.count == expectedSize else {
            throw RepositoryError(
                .malformed, "zstd frame expands to \(output.count) bytes, expected \(expectedSize)")
        }
        return output
    }
}

/// Used by one caller at a time: the pool's Mutex hands it out.
private final class CompressionContext: @unchecked Sendable {
    let pointer: OpaquePointer
    init(level: Int32) {
        pointer = ZSTD_createCCtx()
        ZSTD_CCtx_setParameter(pointer, ZSTD_c_compressionLevel, level)
        if level == 3 {
            // Tables sized for single chunks (≤ 8 MiB) instead of whole files: on pg_dump output
            // this is 20-50 % faster than stock level 3 at a better ratio (README, "Compression").
            ZSTD_CCtx_setParameter(pointer, ZSTD_c_windowLog, 20)
            ZSTD_CCtx_setParameter(pointer, ZSTD_c_hashLog, 14)
            ZSTD_CCtx_setParameter(pointer, ZSTD_c_chainLog, 13)
        }
    }
    deinit { ZSTD_freeCCtx(pointer) }
}

/// Used by one caller at a time: the pool's Mutex hands it out.
private final class DecompressionContext: @unchecked Sendable {
    let pointer: OpaquePointer
    init() { pointer = ZSTD_createDCtx() }
    deinit { ZSTD_freeDCtx(pointer) }
}

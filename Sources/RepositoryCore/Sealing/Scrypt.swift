import CScrypt
import Crypto
import Foundation

/// scrypt (RFC 7914): PBKDF2-HMAC-SHA256 around ROMix, which runs in `CScrypt` on a table
/// mapped with transparent huge pages. At N = 2^16, r = 8 that is 32 page faults instead of
/// 16 384, and about 0.17 CPU-s per derivation here. The same function as BoringSSL's: the
/// tests compare the two.
package enum Scrypt {
    /// scrypt(password, salt, N = n, r, p, dkLen = count).
    /// - Throws: ``RepositoryError/Code/invalidArgument`` for parameters RFC 7914 does not allow
    ///   (N not a power of two above 1, r or p below 1); ``RepositoryError/Code/storage`` when the
    ///   128·r·N-byte table cannot be mapped.
    package static func derive(
        password: [UInt8], salt: [UInt8], n: Int, r: Int, p: Int, count: Int
    ) throws -> [UInt8] {
        guard n >= 2, n.nonzeroBitCount == 1, r >= 1, p >= 1, count >= 1,
            r * p < 1 << 30, n < Int.max / 128 / r
        else {
            throw RepositoryError(
                .invalidArgument, "scrypt parameters N=\(n) r=\(r) p=\(p) dkLen=\(count)")
        }
        var blocks = pbkdf2(password: password, salt: salt, count: 128 * r * p)
        defer {
            for index in blocks.indices { blocks[index] = 0 }
        }
        let status = blocks.withUnsafeMutableBufferPointer {
            zentoria_scrypt_romix($0.baseAddress, r, UInt64(n), UInt32(p))
        }
        guard status == 0 else {
            throw RepositoryError(
                .storage,
                "scrypt needs \(128 * r * n) bytes of memory: \(String(cString: strerror(errno)))")
        }
        return pbkdf2(password: password, salt: blocks, count: count)
    }

    /// PBKDF2-HMAC-SHA256 with one iteration (RFC 8018 §5.2): block i is HMAC(P, S ‖ i).
    private static func pbkdf2(password: [UInt8], salt: [UInt8], count: Int) -> [UInt8] {
        let key = SymmetricKey(data: password)
        var output: [UInt8] = []
        output.reserveCapacity(count + SHA256.byteCount)
        var index: UInt32 = 1
        while output.count < count {
            var mac = HMAC<SHA256>(key: key)
            mac.update(data: salt)
            withUnsafeBytes(of: index.bigEndian) { mac.update(data: $0) }
            output.append(contentsOf: mac.finalize())
            index += 1
        }
        return Array(output.prefix(count))
    }
}

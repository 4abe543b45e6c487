import Crypto
package import Foundation

/// Plain SHA-256, as used for the names of packs, index and snapshot objects.
package enum SHA256Hasher {
    package static func hash(_ bytes: some ContiguousBytes) -> [UInt8] {
        bytes.withUnsafeBytes { Array(SHA256.hash(data: $0)) }
    }

    package static func digest(_ bytes: some ContiguousBytes) -> Digest256 {
        bytes.withUnsafeBytes { buffer in
            SHA256.hash(data: buffer).withUnsafeBytes { Digest256(reading: $0, at: 0) }
        }
    }
}

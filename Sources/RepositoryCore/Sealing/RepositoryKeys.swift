package import Crypto
package import Foundation

/// The keys derived from a repository's 32-byte master key (FORMAT.md §3). Whoever holds these
/// can read and write the repository; agents never do.
package struct RepositoryKeys: Sendable {
    /// The master key; sealed in key slots, exported for disaster recovery.
    package let master: SymmetricKey
    let dataKey: SymmetricKey
    let chunkIDKey: SymmetricKey
    /// Secret seed of the chunker's gear table.
    package let chunkerSeed: [UInt8]

    package init(master: SymmetricKey) {
        precondition(master.bitCount == 256, "the master key has 256 bits")
        self.master = master
        func derive(_ label: String) -> SymmetricKey {
            HKDF<SHA256>.deriveKey(
                inputKeyMaterial: master, info: Array("zentoria/v1/\(label)".utf8),
                outputByteCount: 32)
        }
        dataKey = derive("data")
        chunkIDKey = derive("chunk-id")
        chunkerSeed = derive("chunker").withUnsafeBytes { Array($0) }
    }

    /// A fresh random master key.
    package static func generate() -> RepositoryKeys {
        RepositoryKeys(master: SymmetricKey(size: .bits256))
    }

    /// HMAC-SHA-256 of a chunk's plaintext under the chunk-id key.
    package func chunkID(_ chunk: some ContiguousBytes) -> ChunkID {
        let mac = chunk.withUnsafeBytes {
            HMAC<SHA256>.authenticationCode(for: $0, using: chunkIDKey)
        }
        return mac.withUnsafeBytes { ChunkID(Digest256(reading: $0, at: 0)) }
    }

    /// AES-256-GCM: `nonce(12) ‖ ciphertext ‖ tag(16)` with a fresh random nonce.
    package func seal(
        _ plaintext: some ContiguousBytes, authenticating aad: [UInt8]
    ) throws -> [UInt8] {
        let box = try plaintext.withUnsafeBytes { buffer in
            try AES.GCM.seal(buffer, using: dataKey, nonce: AES.GCM.Nonce(), authenticating: aad)
        }
        guard let combined = box.combined else {
            throw RepositoryError(.invalidArgument, "AES-GCM produced no combined form")
        }
        return Array(combined)
    }

    /// Opens what ``seal(_:authenticating:)`` made.
    /// - Throws: ``RepositoryError/Code/integrity`` when the bytes or `aad` do not authenticate.
    package func open(_ sealed: ArraySlice<UInt8>, authenticating aad: [UInt8]) throws -> [UInt8] {
        try Self.open(sealed, key: dataKey, authenticating: aad)
    }

    static func open(
        _ sealed: ArraySlice<UInt8>, key: SymmetricKey, authenticating aad: [UInt8]
    ) throws -> [UInt8] {
        guard sealed.count >= sealOverhead else {
            throw RepositoryError(.integrity, "sealed object of \(sealed.count) bytes is too short")
        }
        do {
            let box = try sealed.withUnsafeBytes { try AES.GCM.SealedBox(combined: $0) }
            return try Array(AES.GCM.open(box, using: key, authenticating: aad))
        } catch {
            throw RepositoryError(.integrity, "authentication failed", cause: error)
        }
    }

    /// Bytes a seal adds: nonce and tag.
    package static let sealOverhead = 12 + 16
}

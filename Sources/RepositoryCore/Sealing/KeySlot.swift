import Crypto
package import Foundation

/// scrypt cost parameters of a key slot (FORMAT.md §3).
package struct KeyDerivationParameters: Hashable, Sendable, Codable {
    /// CPU/memory cost, a power of two.
    package var n: Int
    package var r: Int
    package var p: Int

    /// N = 2^16, r = 8, p = 1: 64 MiB and about 0.2 s per attempt on these machines.
    package static let `default` = KeyDerivationParameters(n: 1 << 16, r: 8, p: 1)

    /// Far too cheap for real passwords; only for tests that open many repositories.
    package static let insecureForTestsOnly = KeyDerivationParameters(n: 1 << 10, r: 8, p: 1)

    package init(n: Int, r: Int, p: Int) { (self.n, self.r, self.p) = (n, r, p) }

    func validate() throws {
        guard n >= 2, n.nonzeroBitCount == 1, n <= 1 << 22, (1...32).contains(r),
            (1...16).contains(p)
        else {
            throw RepositoryError(
                .malformed, "key slot has unusable scrypt parameters N=\(n) r=\(r) p=\(p)")
        }
    }
}

/// One way in: the master key sealed under a key derived from a password (FORMAT.md §3).
/// A repository may hold several; any one opens it.
package struct KeySlot: Codable, Sendable {
    package var version: Int
    package var created: Date
    package var hostname: String
    package var kdf: String
    package var parameters: KeyDerivationParameters
    package var salt: Data
    package var sealedMasterKey: Data

    static let aad = Array("zentoria-key-slot".utf8)

    /// Seals `keys.master` under `password`.
    package static func make(
        keys: RepositoryKeys, password: [UInt8], parameters: KeyDerivationParameters,
        hostname: String
    ) throws -> KeySlot {
        try parameters.validate()
        let salt = SymmetricKey(size: .bits256).withUnsafeBytes { Data($0) }
        let wrapping = try derive(password: password, salt: salt, parameters: parameters)
        let master = keys.master.withUnsafeBytes { Array($0) }
        let box = try AES.GCM.seal(master, using: wrapping, authenticating: aad)
        return KeySlot(
            version: 1, created: Date(), hostname: hostname, kdf: "scrypt", parameters: parameters,
            salt: salt, sealedMasterKey: box.combined!)
    }

    /// The keys, if `password` is right.
    /// - Throws: ``RepositoryError/Code/wrongPassword`` when it does not open this slot.
    package func open(password: [UInt8]) throws -> RepositoryKeys {
        guard version == 1, kdf == "scrypt" else {
            throw RepositoryError(
                .unsupportedVersion, "key slot version \(version) with kdf \(kdf)")
        }
        try parameters.validate()
        let wrapping = try Self.derive(password: password, salt: salt, parameters: parameters)
        do {
            let master = try RepositoryKeys.open(
                ArraySlice(sealedMasterKey), key: wrapping, authenticating: Self.aad)
            guard master.count == 32 else {
                throw RepositoryError(.malformed, "master key is not 32 bytes")
            }
            return RepositoryKeys(master: SymmetricKey(data: master))
        } catch let error as RepositoryError where error.code == .integrity {
            throw RepositoryError(.wrongPassword, "the password does not open this key slot")
        }
    }

    private static func derive(
        password: [UInt8], salt: Data, parameters: KeyDerivationParameters
    ) throws -> SymmetricKey {
        let key = try Scrypt.derive(
            password: password, salt: Array(salt), n: parameters.n, r: parameters.r,
            p: parameters.p, count: 32)
        return SymmetricKey(data: key)
    }
}

import Crypto
import CryptoExtras
import Foundation
import PropertyBased
import RepositoryCore
import TestSupport
import Testing

@Suite("scrypt")
struct ScryptTests {
    static func hex(_ bytes: [UInt8]) -> String {
        bytes.map { String(format: "%02x", $0) }.joined()
    }

    @Test(
        "the test vectors of RFC 7914 §12",
        arguments: [
            (
                "", "", 16, 1, 1,
                "77d6576238657b203b19ca42c18a0497f16b4844e3074ae8dfdffa3fede21442"
                    + "fcd0069ded0948f8326a753a0fc81f17e8d3e0fb2e0d3628cf35e20c38d18906"
            ),
            (
                "password", "NaCl", 1024, 8, 16,
                "fdbabe1c9d3472007856e7190d01e9fe7c6ad7cbc8237830e77376634b373162"
                    + "2eaf30d92e22a3886ff109279d9830dac727afb94a83ee6d8360cbdfa2cc0640"
            ),
            (
                "pleaseletmein", "SodiumChloride", 16384, 8, 1,
                "7023bdcb3afd7348461c06cd81fd38ebfda8fbba904f8e3ea9b543f6545da1f2"
                    + "d5432955613f0fcf62d49705242a9af9e61e85dc0d651e40dfcf017b45575887"
            ),
        ])
    func vectors(password: String, salt: String, n: Int, r: Int, p: Int, expected: String) throws {
        let key = try Scrypt.derive(
            password: Array(password.utf8), salt: Array(salt.utf8), n: n, r: r, p: p, count: 64)
        #expect(Self.hex(key) == expected)
    }

    @Test("equals BoringSSL's scrypt for any parameters")
    func equalsBoringSSL() async throws {
        await propertyCheck(
            count: 40,
            input: Gen.int(in: 1...9), Gen.int(in: 1...9), Gen.int(in: 1...3), Gen.int(in: 1...97)
        ) { logN, r, p, count in
            var random = SeededRandom(seed: UInt64(logN * 1000 + r * 100 + p * 10 + count))
            let password = random.bytes(Int(random.next() % 80))
            let salt = random.bytes(Int(random.next() % 40))
            let ours = try? Scrypt.derive(
                password: password, salt: salt, n: 1 << logN, r: r, p: p, count: count)
            let theirs = try? KDF.Scrypt.deriveKey(
                from: password, salt: salt, outputByteCount: count, rounds: 1 << logN,
                blockSize: r, parallelism: p
            ).withUnsafeBytes { Array($0) }
            #expect(ours != nil && ours == theirs, "N=2^\(logN) r=\(r) p=\(p) dkLen=\(count)")
        }
    }

    @Test(
        "unusable parameters are refused",
        arguments: [(3, 8, 1), (1, 8, 1), (16, 0, 1), (16, 8, 0)])
    func unusableParameters(n: Int, r: Int, p: Int) {
        #expect(throws: RepositoryError(.invalidArgument, "")) {
            try Scrypt.derive(password: [1], salt: [2], n: n, r: r, p: p, count: 32)
        }
    }
}

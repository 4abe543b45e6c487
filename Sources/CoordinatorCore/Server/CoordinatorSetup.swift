import Crypto
import Foundation
package import Logging
package import RepositoryCore
import SwiftASN1
package import Transport
import X509

/// The files in a coordinator's state directory.
package struct CoordinatorFiles: Sendable {
    package let directory: String
    package init(directory: String) { self.directory = directory }
    package var caCertificate: String { "\(directory)/ca.pem" }
    package var caKey: String { "\(directory)/ca-key.pem" }
    package var serverCertificate: String { "\(directory)/server.pem" }
    package var serverKey: String { "\(directory)/server-key.pem" }
    package var agents: String { "\(directory)/agents.json" }
    package var tokens: String { "\(directory)/tokens.json" }

    /// The CA, loaded from the state directory.
    package func loadAuthority() throws -> CertificateAuthority {
        try CertificateAuthority(
            certificatePEM: try Self.read(caCertificate), privateKeyPEM: try Self.read(caKey))
    }

    /// The server's TLS identity.
    package func loadServerIdentity() throws -> TLSIdentity {
        TLSIdentity(
            caPEM: try Self.read(caCertificate), certificatePEM: try Self.read(serverCertificate),
            privateKeyPEM: try Self.read(serverKey))
    }

    static func read(_ path: String) throws -> String {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw CoordinatorError("cannot read \(path); run `zentoria-coordinator init` first")
        }
        return String(decoding: data, as: UTF8.self)
    }
}

/// `zentoria-coordinator init`: state directory, CA, server certificate, repository.
package enum CoordinatorSetup {
    /// Creates what is missing and returns the CA fingerprint agents pin. Safe to run again:
    /// an existing CA and repository are kept; the server certificate is reissued for the
    /// configured names.
    package static func run(
        _ config: CoordinatorConfiguration, keyDerivation: KeyDerivationParameters = .default,
        logger: Logger
    ) async throws -> (fingerprint: String, createdRepository: Bool) {
        let files = CoordinatorFiles(directory: config.stateDirectory)
        try FileManager.default.createDirectory(
            atPath: config.stateDirectory, withIntermediateDirectories: true,
            attributes: [.posixPermissions: 0o700])
        let authority: CertificateAuthority
        if FileManager.default.fileExists(atPath: files.caKey) {
            authority = try files.loadAuthority()
        } else {
            authority = try CertificateAuthority.create(name: "Zentoria Backup CA")
            let (certificate, key) = try authority.pem()
            try PrivateFile.write(Data(key.utf8), to: files.caKey)
            try PrivateFile.write(Data(certificate.utf8), to: files.caCertificate)
        }
        let serverKey = P256.Signing.PrivateKey()
        let ips = config.serverNames.compactMap(HostPort.ipv4)
        let names = config.serverNames.filter { HostPort.ipv4($0) == nil }
        let certificate = try authority.issueServerCertificate(
            publicKey: Certificate.PublicKey(serverKey.publicKey), dnsNames: names, ipAddresses: ips
        )
        try PrivateFile.write(Data(serverKey.pemRepresentation.utf8), to: files.serverKey)
        try PrivateFile.write(
            Data(try certificate.serializeAsPEM().pemString.utf8), to: files.serverCertificate)

        var created = false
        let store = try config.primaryStore(logger: logger)
        if try await !store.exists(.config) {
            let password = try OfflineTool.readPassword(file: config.passwordFile)
            _ = try await Repository.initialize(
                store: store, password: password,
                config: RepositoryConfig(packSize: config.packSizeMiB << 20),
                keyDerivation: keyDerivation, logger: logger)
            created = true
        }
        return (authority.fingerprint, created)
    }
}

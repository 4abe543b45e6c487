import Crypto
package import Foundation
import SwiftASN1
package import X509

/// The coordinator's certificate authority: it signs the coordinator's server certificate and,
/// at enrollment, each agent's client certificate. Its key never leaves the coordinator host.
package struct CertificateAuthority: Sendable {
    package let certificate: Certificate
    private let privateKey: Certificate.PrivateKey

    /// Agent certificates carry this many days of validity.
    package static let agentValidity: TimeInterval = 365 * 86_400

    /// A new CA with a fresh P-256 key, valid for `years`.
    package static func create(name: String, years: Int = 10) throws -> CertificateAuthority {
        let key = Certificate.PrivateKey(P256.Signing.PrivateKey())
        let subject = try DistinguishedName {
            OrganizationName("Zentoria Backup")
            CommonName(name)
        }
        let now = Date()
        let certificate = try Certificate(
            version: .v3, serialNumber: Certificate.SerialNumber(), publicKey: key.publicKey,
            notValidBefore: now.addingTimeInterval(-300),
            notValidAfter: now.addingTimeInterval(Double(years) * 365 * 86_400),
            issuer: subject, subject: subject, signatureAlgorithm: .ecdsaWithSHA256,
            extensions: try Certificate.Extensions {
                Critical(BasicConstraints.isCertificateAuthority(maxPathLength: 0))
                Critical(KeyUsage(keyCertSign: true, cRLSign: true))
                SubjectKeyIdentifier(hash: key.publicKey)
            },
            issuerPrivateKey: key)
        return CertificateAuthority(certificate: certificate, privateKey: key)
    }

    /// Loads a CA from its PEM certificate and key.
    package init(certificatePEM: String, privateKeyPEM: String) throws {
        do {
            certificate = try Certificate(pemEncoded: certificatePEM)
            privateKey = try Certificate.PrivateKey(pemEncoded: privateKeyPEM)
        } catch {
            throw TransportError(
                .invalidCertificate, "the CA certificate or key cannot be read", cause: error)
        }
        guard privateKey.publicKey == certificate.publicKey else {
            throw TransportError(
                .invalidCertificate, "the CA key does not match the CA certificate")
        }
    }

    private init(certificate: Certificate, privateKey: Certificate.PrivateKey) {
        (self.certificate, self.privateKey) = (certificate, privateKey)
    }

    /// The certificate and key as PEM, for storage (the key file must be private).
    package func pem() throws -> (certificate: String, privateKey: String) {
        (try certificate.serializeAsPEM().pemString, try privateKey.serializeAsPEM().pemString)
    }

    /// SHA-256 of the CA certificate's DER, lower-case hex: what agents pin at enrollment.
    package var fingerprint: String { Fingerprint.sha256(certificate) }

    /// Issues the coordinator's TLS server certificate for the given names and addresses.
    package func issueServerCertificate(
        publicKey: Certificate.PublicKey, dnsNames: [String], ipAddresses: [[UInt8]], years: Int = 2
    ) throws -> Certificate {
        var names = dnsNames.map { GeneralName.dnsName($0) }
        names += ipAddresses.map { GeneralName.ipAddress(ASN1OctetString(contentBytes: $0[...])) }
        return try issue(
            subject: try DistinguishedName {
                OrganizationName("Zentoria Backup")
                CommonName("zentoria-coordinator")
            },
            publicKey: publicKey, validity: Double(years) * 365 * 86_400,
            extensions: try Certificate.Extensions {
                Critical(BasicConstraints.notCertificateAuthority)
                Critical(KeyUsage(digitalSignature: true, keyEncipherment: true))
                try ExtendedKeyUsage([.serverAuth])
                SubjectAlternativeNames(names)
                SubjectKeyIdentifier(hash: publicKey)
                AuthorityKeyIdentifier(
                    keyIdentifier: try certificate.extensions.subjectKeyIdentifier?.keyIdentifier)
            })
    }

    /// Signs an agent's CSR: checks its self-signature and issues a client certificate whose
    /// common name is `agentName` (whatever the CSR asked for).
    package func signAgentRequest(
        _ request: CertificateSigningRequest, agentName: String,
        validity: TimeInterval = agentValidity
    ) throws -> Certificate {
        guard request.publicKey.isValidSignature(request.signature, for: request) else {
            throw TransportError(
                .invalidCertificate, "the certificate request's signature is invalid")
        }
        return try issue(
            subject: try DistinguishedName {
                OrganizationName("Zentoria Backup agents")
                CommonName(agentName)
            },
            publicKey: request.publicKey, validity: validity,
            extensions: try Certificate.Extensions {
                Critical(BasicConstraints.notCertificateAuthority)
                Critical(KeyUsage(digitalSignature: true))
                try ExtendedKeyUsage([.clientAuth])
                SubjectKeyIdentifier(hash: request.publicKey)
                AuthorityKeyIdentifier(
                    keyIdentifier: try certificate.extensions.subjectKeyIdentifier?.keyIdentifier)
            })
    }

    private func issue(
        subject: DistinguishedName, publicKey: Certificate.PublicKey, validity: TimeInterval,
        extensions: Certificate.Extensions
    ) throws -> Certificate {
        let now = Date()
        return try Certificate(
            version: .v3, serialNumber: Certificate.SerialNumber(), publicKey: publicKey,
            notValidBefore: now.addingTimeInterval(-300),
            notValidAfter: now.addingTimeInterval(validity),
            issuer: certificate.subject, subject: subject, signatureAlgorithm: .ecdsaWithSHA256,
            extensions: extensions, issuerPrivateKey: privateKey)
    }
}

/// Certificate fingerprints as shown to operators.
package enum Fingerprint {
    /// SHA-256 of the DER encoding, lower-case hex.
    package static func sha256(_ certificate: Certificate) -> String {
        guard let der = try? certificate.serializeAsPEM().derBytes else { return "" }
        return sha256(der: der)
    }

    package static func sha256(der: [UInt8]) -> String {
        SHA256.hash(data: der).map { String(format: "%02x", $0) }.joined()
    }
}

extension Certificate {
    /// The subject's common name, if it has exactly one.
    package var commonName: String? {
        let names = subject.flatMap { $0 }.filter { $0.type == .RDNAttributeType.commonName }
        guard names.count == 1 else { return nil }
        return String(describing: names[0].value)
    }
}

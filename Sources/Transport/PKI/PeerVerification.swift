package import Foundation
package import NIOCore
package import NIOSSL
import SwiftASN1
package import X509

/// Verification of TLS peers, run inside the handshake so a refused peer never reaches a
/// handler (BoringSSL's built-in chain check is replaced by these callbacks).
package enum PeerVerification {
    /// The callback type NIOSSL (and so grpc-swift-nio-transport) accepts.
    package typealias Callback =
        @Sendable ([NIOSSLCertificate], EventLoopPromise<NIOSSLVerificationResultWithMetadata>) ->
        Void

    /// Accepts an agent's client certificate only if the CA signed it, it is valid now, it is
    /// for client authentication, names an agent, and `isAllowed` (revocation) agrees.
    package static func agentCertificates(
        ca: Certificate,
        isAllowed: @escaping @Sendable (_ agent: String, _ certificate: Certificate) -> Bool
    ) -> Callback {
        { chain, promise in
            switch verifyAgent(chain: chain, ca: ca, isAllowed: isAllowed) {
            case .success(let caNIO):
                promise.succeed(
                    .certificateVerified(
                        VerificationMetadata(ValidatedCertificateChain([chain[0], caNIO]))))
            case .failure:
                promise.succeed(.failed)
            }
        }
    }

    /// The checks of ``agentCertificates(ca:isAllowed:)``, as a value for tests and logs.
    package static func verifyAgent(
        chain: [NIOSSLCertificate], ca: Certificate,
        isAllowed: (_ agent: String, _ certificate: Certificate) -> Bool, now: Date = Date()
    ) -> Result<NIOSSLCertificate, TransportError> {
        do {
            guard let first = chain.first else {
                throw TransportError(.untrusted, "no client certificate")
            }
            let leaf = try Certificate(derEncoded: try first.toDERBytes())
            try checkIssued(leaf, by: ca, now: now)
            guard try leaf.extensions.extendedKeyUsage?.contains(.clientAuth) == true else {
                throw TransportError(.untrusted, "the certificate is not for client authentication")
            }
            guard let agent = leaf.commonName, isAllowed(agent, leaf) else {
                throw TransportError(.unauthorized, "the agent is unknown or revoked")
            }
            return .success(
                try NIOSSLCertificate(bytes: try ca.serializeAsPEM().derBytes, format: .der))
        } catch let error as TransportError {
            return .failure(error)
        } catch {
            return .failure(
                TransportError(.untrusted, "the certificate cannot be read", cause: error))
        }
    }

    /// Accepts a server whose chain contains a CA certificate with the pinned SHA-256
    /// fingerprint that signed the server's certificate: enrollment, before the agent trusts the CA.
    package static func pinnedCA(fingerprint: String) -> Callback {
        let pinned = fingerprint.lowercased().filter(\.isHexDigit)
        return { chain, promise in
            do {
                guard let first = chain.first else {
                    throw TransportError(.untrusted, "no server certificate")
                }
                let leaf = try Certificate(derEncoded: try first.toDERBytes())
                for candidate in chain {
                    let der = try candidate.toDERBytes()
                    guard Fingerprint.sha256(der: der) == pinned else { continue }
                    try checkIssued(leaf, by: try Certificate(derEncoded: der), now: Date())
                    promise.succeed(
                        .certificateVerified(
                            VerificationMetadata(ValidatedCertificateChain([first, candidate]))))
                    return
                }
                promise.succeed(.failed)
            } catch {
                promise.succeed(.failed)
            }
        }
    }

    /// Signature, issuer name and validity period of a certificate issued directly by `ca`.
    static func checkIssued(_ leaf: Certificate, by ca: Certificate, now: Date) throws {
        guard leaf.issuer == ca.subject, ca.publicKey.isValidSignature(leaf.signature, for: leaf)
        else {
            throw TransportError(.untrusted, "the certificate was not issued by this CA")
        }
        guard leaf.notValidBefore <= now, now <= leaf.notValidAfter else {
            throw TransportError(.untrusted, "the certificate is expired or not yet valid")
        }
        guard ca.notValidBefore <= now, now <= ca.notValidAfter else {
            throw TransportError(.untrusted, "the CA certificate is expired")
        }
    }
}

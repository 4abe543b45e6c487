package import GRPCNIOTransportHTTP2
import X509

/// Certificates and key of one side of the channel, as PEM.
package struct TLSIdentity: Sendable {
    /// The CA certificate both sides trust.
    package var caPEM: String
    /// This side's certificate.
    package var certificatePEM: String
    /// This side's private key.
    package var privateKeyPEM: String

    package init(caPEM: String, certificatePEM: String, privateKeyPEM: String) {
        (self.caPEM, self.certificatePEM, self.privateKeyPEM) = (
            caPEM, certificatePEM, privateKeyPEM
        )
    }

    var chain: [TLSConfig.CertificateSource] {
        [.bytes(Array(certificatePEM.utf8), format: .pem), .bytes(Array(caPEM.utf8), format: .pem)]
    }
    var key: TLSConfig.PrivateKeySource { .bytes(Array(privateKeyPEM.utf8), format: .pem) }
    var trustRoots: TLSConfig.TrustRootsSource {
        .certificates([.bytes(Array(caPEM.utf8), format: .pem)])
    }
}

/// HTTP/2 and RPC limits for the agent channel (README, "Channel"). The default 64 KiB window
/// caps a dump stream at ~72 MB/s; 1 MiB windows and frames carry 1 MiB messages at full speed.
package enum ChannelLimits {
    /// Largest message either side sends: a data block plus framing.
    package static let maxMessageSize = 2 << 20
    /// Size of the data blocks dumps are cut into.
    package static let blockSize = 1 << 20

    package static func server() -> HTTP2ServerTransport.Posix.Config {
        .defaults {
            $0.http2.targetWindowSize = 1 << 20
            $0.http2.maxFrameSize = 1 << 20
            $0.rpc.maxRequestPayloadSize = maxMessageSize
            $0.connection.keepalive.time = .seconds(30)
            $0.connection.keepalive.timeout = .seconds(10)
            $0.connection.keepalive.clientBehavior.allowWithoutCalls = true
            $0.connection.keepalive.clientBehavior.minPingIntervalWithoutCalls = .seconds(10)
        }
    }

    package static func client() -> HTTP2ClientTransport.Posix.Config {
        .defaults {
            $0.http2.targetWindowSize = 1 << 20
            $0.http2.maxFrameSize = 1 << 20
            $0.connection.keepalive = .init(
                time: .seconds(30), timeout: .seconds(10), allowWithoutCalls: true)
            $0.backoff.initial = .milliseconds(200)
            $0.backoff.max = .seconds(10)
        }
    }
}

extension HTTP2ServerTransport.Posix.TransportSecurity {
    /// The agent channel: mutual TLS; a client certificate is verified by `verifier` during the
    /// handshake, so unknown, expired, revoked and foreign certificates never reach a handler.
    package static func agentChannel(
        _ identity: TLSIdentity, verifier: @escaping PeerVerification.Callback
    ) -> Self {
        .mTLS(certificateChain: identity.chain, privateKey: identity.key) {
            $0.trustRoots = identity.trustRoots
            $0.customVerificationCallback = verifier
        }
    }

    /// Enrollment: server-authenticated TLS only (the agent has no certificate yet).
    package static func enrollment(_ identity: TLSIdentity) -> Self {
        .tls(certificateChain: identity.chain, privateKey: identity.key)
    }
}

extension HTTP2ClientTransport.Posix.TransportSecurity {
    /// An enrolled agent: mutual TLS, trusting only the coordinator's CA.
    package static func agentChannel(_ identity: TLSIdentity) -> Self {
        .mTLS(
            certificateChain: [.bytes(Array(identity.certificatePEM.utf8), format: .pem)],
            privateKey: identity.key
        ) {
            $0.trustRoots = identity.trustRoots
            $0.serverCertificateVerification = .fullVerification
        }
    }

    /// Enrollment: trusts the server only if its chain holds the CA with the pinned fingerprint.
    package static func enrollment(caFingerprint: String) -> Self {
        .tls {
            $0.customVerificationCallback = PeerVerification.pinnedCA(fingerprint: caFingerprint)
        }
    }
}

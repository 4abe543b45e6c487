import Crypto
import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2
import Proto
import SwiftASN1
import SwiftProtobuf
import Testing
import Transport
import X509

/// The agent channel's TLS rules, on a real server over loopback: which client certificates
/// the handshake lets through.
@Suite("Mutual TLS")
struct MutualTLSTests {
    /// Answers every call; only reachable through the handshake under test.
    struct Echo: Zentoria_V1_Enrollment.SimpleServiceProtocol {
        func enroll(
            request: Zentoria_V1_EnrollRequest, context: ServerContext
        ) async throws -> Zentoria_V1_EnrollResponse {
            .with { $0.agentName = "reached" }
        }
    }

    struct Party {
        let authority: CertificateAuthority
        let server: TLSIdentity

        init() throws {
            authority = try CertificateAuthority.create(name: "Test CA")
            let key = P256.Signing.PrivateKey()
            let certificate = try authority.issueServerCertificate(
                publicKey: Certificate.PublicKey(key.publicKey), dnsNames: ["localhost"],
                ipAddresses: [[127, 0, 0, 1]])
            server = TLSIdentity(
                caPEM: try authority.pem().certificate,
                certificatePEM: try certificate.serializeAsPEM().pemString,
                privateKeyPEM: key.pemRepresentation)
        }

        /// A client identity for `agent`, valid for `validity` seconds (negative: already expired).
        func agent(_ agent: String, validity: TimeInterval = 3600) throws -> TLSIdentity {
            let key = P256.Signing.PrivateKey()
            let request = try CertificateSigningRequest(
                version: .v1, subject: try DistinguishedName { CommonName(agent) },
                privateKey: Certificate.PrivateKey(key),
                attributes: CertificateSigningRequest.Attributes())
            let certificate = try authority.signAgentRequest(
                request, agentName: agent, validity: validity)
            return TLSIdentity(
                caPEM: try authority.pem().certificate,
                certificatePEM: try certificate.serializeAsPEM().pemString,
                privateKeyPEM: key.pemRepresentation)
        }
    }

    /// Serves `Echo` behind the agent channel's security, allowing only `allowed` agents, and
    /// runs `body` with the port.
    static func withServer(
        _ party: Party, allowed: Set<String>, _ body: (Int) async throws -> Void
    ) async throws {
        let verifier = PeerVerification.agentCertificates(ca: party.authority.certificate) {
            agent, _ in allowed.contains(agent)
        }
        let server = GRPCServer(
            transport: HTTP2ServerTransport.Posix(
                address: .ipv4(host: "127.0.0.1", port: 0),
                transportSecurity: .agentChannel(party.server, verifier: verifier),
                config: ChannelLimits.server()),
            services: [Echo()])
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await server.serve() }
            let port = try #require(try await server.listeningAddress?.ipv4?.port)
            defer { server.beginGracefulShutdown() }
            try await body(port)
        }
    }

    /// Calls the server with `security`; returns what it answered or the error.
    /// One enrollment RPC; `timeout` bounds it (generous where success is expected, so a
    /// loaded machine does not fail the test; short where a refusal is).
    static func call(
        port: Int, security: HTTP2ClientTransport.Posix.TransportSecurity,
        timeout: Duration = .seconds(30)
    ) async -> Result<String, any Error> {
        do {
            let transport = try HTTP2ClientTransport.Posix(
                target: .ipv4(address: "127.0.0.1", port: port), transportSecurity: security,
                config: .defaults { $0.backoff.initial = .milliseconds(10) })
            let answer = try await withGRPCClient(transport: transport) { client in
                var options = CallOptions.defaults
                options.timeout = timeout
                return try await Zentoria_V1_Enrollment.Client(wrapping: client).enroll(
                    .init(), options: options
                ).agentName
            }
            return .success(answer)
        } catch {
            return .failure(error)
        }
    }

    @Test("an enrolled agent's certificate is accepted")
    func accepted() async throws {
        let party = try Party()
        try await Self.withServer(party, allowed: ["a1"]) { port in
            let result = await Self.call(port: port, security: .agentChannel(try party.agent("a1")))
            #expect((try? result.get()) == "reached", "\(result)")
        }
    }

    @Test(
        "no certificate, another CA, an expired or a revoked certificate are refused in the handshake"
    )
    func refused() async throws {
        let party = try Party()
        let stranger = try Party()
        try await Self.withServer(party, allowed: ["a1", "expired"]) { port in
            let caOnly = HTTP2ClientTransport.Posix.TransportSecurity.tls {
                $0.trustRoots = .certificates([.bytes(Array(party.server.caPEM.utf8), format: .pem)]
                )
            }
            let foreign = try stranger.agent("a1")
            let crossSigned = TLSIdentity(
                caPEM: party.server.caPEM, certificatePEM: foreign.certificatePEM,
                privateKeyPEM: foreign.privateKeyPEM)
            let cases: [(String, HTTP2ClientTransport.Posix.TransportSecurity)] = [
                ("no client certificate", caOnly),
                ("another CA's certificate", .agentChannel(crossSigned)),
                (
                    "an expired certificate",
                    .agentChannel(try party.agent("expired", validity: -60))
                ),
                ("a revoked agent", .agentChannel(try party.agent("revoked"))),
            ]
            for (name, security) in cases {
                let result = await Self.call(port: port, security: security, timeout: .seconds(5))
                #expect(throws: (any Error).self, "\(name) must be refused") { try result.get() }
            }
            // The server is unharmed: a good client still gets through.
            #expect(
                (try? await Self.call(port: port, security: .agentChannel(try party.agent("a1")))
                    .get()) == "reached")
        }
    }

    @Test("enrollment trusts only the pinned CA fingerprint")
    func pinning() async throws {
        let party = try Party()
        let server = GRPCServer(
            transport: HTTP2ServerTransport.Posix(
                address: .ipv4(host: "127.0.0.1", port: 0),
                transportSecurity: .enrollment(party.server)),
            services: [Echo()])
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await server.serve() }
            defer { server.beginGracefulShutdown() }
            let port = try #require(try await server.listeningAddress?.ipv4?.port)
            let good = await Self.call(
                port: port, security: .enrollment(caFingerprint: party.authority.fingerprint))
            #expect((try? good.get()) == "reached", "\(good)")
            let bad = await Self.call(
                port: port,
                security: .enrollment(caFingerprint: String(repeating: "00", count: 32)),
                timeout: .seconds(5))
            #expect(throws: (any Error).self) { try bad.get() }
        }
    }
}

@Suite("Channel limits")
struct ChannelLimitTests {
    @Test("an oversized message is rejected and the server keeps serving")
    func oversized() async throws {
        let party = try MutualTLSTests.Party()
        try await MutualTLSTests.withServer(party, allowed: ["a1"]) { port in
            let identity = try party.agent("a1")
            let transport = try HTTP2ClientTransport.Posix(
                target: .ipv4(address: "127.0.0.1", port: port),
                transportSecurity: .agentChannel(identity),
                config: ChannelLimits.client())
            try await withGRPCClient(transport: transport) { client in
                let enrollment = Zentoria_V1_Enrollment.Client(wrapping: client)
                await #expect(throws: RPCError.self) {
                    _ = try await enrollment.enroll(
                        .with { $0.csrDer = Data(count: ChannelLimits.maxMessageSize + 1) })
                }
                let fine = try await enrollment.enroll(
                    .with { $0.csrDer = Data(count: ChannelLimits.blockSize) })
                #expect(fine.agentName == "reached")
            }
        }
    }
}

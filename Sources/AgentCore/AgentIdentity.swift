import Crypto
package import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2
package import Logging
import Proto
import SwiftASN1
import SwiftProtobuf
package import Transport
import X509

/// What enrollment leaves in the agent's state directory: its key (never sent anywhere), its
/// certificate, the CA, and where the coordinator's agent channel is.
package struct AgentIdentity: Sendable, Codable {
    package var agent: String
    package var coordinator: String
    package var enrolled: Date

    static func path(_ directory: String, _ file: String) -> String { "\(directory)/\(file)" }

    /// Loads the identity written by ``enroll(coordinator:token:caFingerprint:stateDirectory:logger:)``.
    package static func load(stateDirectory: String) throws -> (AgentIdentity, TLSIdentity) {
        func read(_ file: String) throws -> String {
            guard let data = FileManager.default.contents(atPath: path(stateDirectory, file)) else {
                throw TransportError(
                    .configuration,
                    "\(path(stateDirectory, file)) is missing; run `zentoria-agent enroll` first")
            }
            return String(decoding: data, as: UTF8.self)
        }
        let identity = try JSONDecoder.iso8601.decode(
            AgentIdentity.self, from: Data(try read("enrollment.json").utf8))
        return (
            identity,
            TLSIdentity(
                caPEM: try read("ca.pem"), certificatePEM: try read("agent.pem"),
                privateKeyPEM: try read("agent-key.pem"))
        )
    }

    /// Generates a key here, sends a CSR with the one-time token over TLS pinned to the CA
    /// fingerprint, and stores the signed certificate.
    package static func enroll(
        coordinator: HostPort, token: String, caFingerprint: String, stateDirectory: String,
        logger: Logger
    ) async throws -> AgentIdentity {
        try FileManager.default.createDirectory(
            atPath: stateDirectory, withIntermediateDirectories: true,
            attributes: [.posixPermissions: 0o700])
        let key = P256.Signing.PrivateKey()
        let request = try CertificateSigningRequest(
            version: .v1, subject: try DistinguishedName { CommonName("zentoria-agent") },
            privateKey: Certificate.PrivateKey(key),
            attributes: CertificateSigningRequest.Attributes())
        let response: Zentoria_V1_EnrollResponse
        do {
            response = try await withGRPCClient(
                transport: try .http2NIOPosix(
                    target: Self.target(coordinator),
                    transportSecurity: .enrollment(caFingerprint: caFingerprint))
            ) { client in
                try await Zentoria_V1_Enrollment.Client(wrapping: client).enroll(
                    .with {
                        $0.protocolVersion = 1
                        $0.token = token
                        $0.csrDer = Data(try request.serializeAsPEM().derBytes)
                    })
            }
        } catch let error as RPCError {
            throw TransportError(.unauthorized, "enrollment refused: \(error.message)")
        }
        let certificate = try Certificate(derEncoded: Array(response.certificateDer))
        let ca = try Certificate(derEncoded: Array(response.caCertificateDer))
        guard Fingerprint.sha256(ca) == caFingerprint.lowercased().filter(\.isHexDigit),
            certificate.publicKey == Certificate.PublicKey(key.publicKey)
        else {
            throw TransportError(
                .untrusted, "the coordinator returned a certificate that does not match")
        }
        let identity = AgentIdentity(
            agent: response.agentName,
            coordinator: HostPort(host: coordinator.host, port: Int(response.agentPort))
                .description,
            enrolled: Date())
        try write(key.pemRepresentation, "agent-key.pem", in: stateDirectory)
        try write(try certificate.serializeAsPEM().pemString, "agent.pem", in: stateDirectory)
        try write(try ca.serializeAsPEM().pemString, "ca.pem", in: stateDirectory)
        try write(
            String(decoding: try JSONEncoder.iso8601.encode(identity), as: UTF8.self),
            "enrollment.json", in: stateDirectory)
        logger.info(
            "enrolled",
            metadata: ["agent.id": "\(identity.agent)", "coordinator": "\(identity.coordinator)"])
        return identity
    }

    private static func write(_ text: String, _ file: String, in directory: String) throws {
        let path = path(directory, file)
        guard
            FileManager.default.createFile(
                atPath: path + ".tmp", contents: Data(text.utf8),
                attributes: [.posixPermissions: 0o600]),
            rename(path + ".tmp", path) == 0
        else { throw TransportError(.configuration, "cannot write \(path)") }
    }

    /// A gRPC target for a host:port (IPv4 literal or DNS name).
    static func target(_ endpoint: HostPort) -> any ResolvableTarget {
        if endpoint.ipv4Bytes != nil {
            let target: ResolvableTargets.IPv4 = .ipv4(address: endpoint.host, port: endpoint.port)
            return target
        }
        let target: ResolvableTargets.DNS = .dns(host: endpoint.host, port: endpoint.port)
        return target
    }
}

extension JSONDecoder {
    static var iso8601: JSONDecoder {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        return decoder
    }
}

extension JSONEncoder {
    static var iso8601: JSONEncoder {
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .iso8601
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        return encoder
    }
}

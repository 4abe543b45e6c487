import Foundation
package import GRPCCore
package import Logging
package import Proto
import SwiftASN1
import SwiftProtobuf
package import Transport
import X509

/// Exchanges a one-time token and a CSR for an agent certificate (server-authenticated TLS).
package struct EnrollmentService: Zentoria_V1_Enrollment.SimpleServiceProtocol {
    let authority: CertificateAuthority
    let directory: AgentDirectory
    let tokens: TokenStore
    let agentPort: Int
    let logger: Logger

    package init(
        authority: CertificateAuthority, directory: AgentDirectory, tokens: TokenStore,
        agentPort: Int, logger: Logger
    ) {
        (self.authority, self.directory, self.tokens, self.agentPort, self.logger) = (
            authority, directory, tokens, agentPort, logger
        )
    }

    package func enroll(
        request: Zentoria_V1_EnrollRequest, context: ServerContext
    ) async throws -> Zentoria_V1_EnrollResponse {
        let asked = request.agentName.isEmpty ? nil : request.agentName
        guard let name = try tokens.consume(token: request.token, agent: asked) else {
            logger.info(
                "enrollment refused",
                metadata: ["agent.id": "\(asked ?? "-")", "peer": "\(context.remotePeer)"])
            throw RPCError(
                code: .permissionDenied,
                message: "the token is unknown, used, expired or for another agent")
        }
        let csr: CertificateSigningRequest
        do {
            csr = try CertificateSigningRequest(derEncoded: Array(request.csrDer))
        } catch {
            throw RPCError(
                code: .invalidArgument, message: "the certificate request cannot be parsed")
        }
        let certificate: Certificate
        do {
            certificate = try authority.signAgentRequest(csr, agentName: name)
        } catch {
            throw RPCError(code: .invalidArgument, message: "\(error)")
        }
        try directory.enroll(agent: name, certificate: certificate)
        logger.info(
            "agent enrolled", metadata: ["agent.id": "\(name)", "peer": "\(context.remotePeer)"])
        return try .with {
            $0.certificateDer = Data(try certificate.serializeAsPEM().derBytes)
            $0.caCertificateDer = Data(try authority.certificate.serializeAsPEM().derBytes)
            $0.agentPort = UInt32(agentPort)
            $0.agentName = name
        }
    }
}

/// What an agent may be called: it becomes a certificate CN, a path part and a log value.
package enum AgentName {
    package static let rule =
        "agent names are 1-64 characters of a-z, 0-9, '-', '_' and '.', starting with a letter or digit"

    package static func isValid(_ name: String) -> Bool {
        guard let first = name.unicodeScalars.first, name.count <= 64 else { return false }
        let allowed = CharacterSet.lowercaseLetters.union(.decimalDigits).union(
            CharacterSet(charactersIn: "-_."))
        return CharacterSet.alphanumerics.contains(first)
            && name.unicodeScalars.allSatisfy {
                $0.isASCII && allowed.contains($0)
            }
    }
}

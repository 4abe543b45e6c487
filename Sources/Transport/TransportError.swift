/// The one error the transport layer throws: certificates, enrollment, channel set-up.
package struct TransportError: Error, Hashable, CustomStringConvertible {
    package struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Value: Hashable, Sendable {
            case invalidCertificate, invalidRequest, untrusted, unauthorized, configuration
        }
        private let value: Value
        /// A certificate, key or CSR cannot be parsed or is not what it must be.
        package static let invalidCertificate = Code(value: .invalidCertificate)
        /// A request is malformed (bad name, missing field).
        package static let invalidRequest = Code(value: .invalidRequest)
        /// The peer did not prove what it claims (fingerprint mismatch, unknown CA).
        package static let untrusted = Code(value: .untrusted)
        /// Authenticated, but not allowed (revoked agent, wrong token, foreign component).
        package static let unauthorized = Code(value: .unauthorized)
        /// Local set-up is incomplete or contradictory.
        package static let configuration = Code(value: .configuration)
        package var description: String { "\(value)" }
    }

    package var code: Code
    package var message: String
    package var cause: (any Error)?
    package var location: String

    package init(
        _ code: Code, _ message: String, cause: (any Error)? = nil,
        file: String = #fileID, line: Int = #line
    ) {
        (self.code, self.message, self.cause) = (code, message, cause)
        self.location = "\(file):\(line)"
    }

    package static func == (a: Self, b: Self) -> Bool { a.code == b.code }
    package func hash(into h: inout Hasher) { h.combine(code) }
    package var description: String {
        "\(code): \(message)" + (cause.map { " (cause: \($0))" } ?? "")
    }
}

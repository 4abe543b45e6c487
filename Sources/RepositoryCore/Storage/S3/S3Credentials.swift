/// An access key pair, with a session token for temporary credentials. Its description
/// shows the key ID only: secrets never reach logs or error messages.
package struct S3Credentials: Sendable, Hashable, CustomStringConvertible {
    package var accessKeyID: String
    package var secretAccessKey: String
    package var sessionToken: String?

    package init(accessKeyID: String, secretAccessKey: String, sessionToken: String? = nil) {
        (self.accessKeyID, self.secretAccessKey) = (accessKeyID, secretAccessKey)
        self.sessionToken = sessionToken
    }

    package var description: String { "S3Credentials(\(accessKeyID), secret redacted)" }
}

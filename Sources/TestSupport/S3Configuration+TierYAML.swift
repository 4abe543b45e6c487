import Foundation
package import RepositoryCore

extension S3Configuration {
    /// Writes the secret key to `secretFile` and returns this bucket as an entry of a
    /// coordinator config's `tiers:` map, indented for it. `settings` are more `key: value`
    /// lines.
    package func tierYAML(
        name: String, secretFile: String, settings: [String] = []
    ) throws -> String {
        try "\(credentials.secretAccessKey)\n".write(
            toFile: secretFile, atomically: true, encoding: .utf8)
        return """
              \(name):
                s3:
                  endpoint: \(endpoint)
                  bucket: \(bucket)
                  prefix: \(prefix)
                  access_key_id: \(credentials.accessKeyID)
                  secret_access_key_file: \(secretFile)
            """ + settings.map { "\n      \($0)" }.joined()
    }
}

import Foundation
package import RepositoryCore

/// The moto S3 server scripts/test.sh starts on loopback (`ZENTORIA_TEST_S3_ENDPOINT`).
package enum S3TestServer {
    package static let endpoint = ProcessInfo.processInfo.environment["ZENTORIA_TEST_S3_ENDPOINT"]
    package static var isAvailable: Bool { endpoint != nil }
    package static let credentials = S3Credentials(
        accessKeyID: "zentoria-test", secretAccessKey: "zentoria-test-secret")

    /// A configuration for `bucket` (created when missing) under a fresh random prefix, so each
    /// caller starts with an empty store.
    package static func configuration(
        bucket: String = "zentoria-tests", prefix: String? = nil
    ) async throws -> S3Configuration {
        guard let endpoint else {
            throw ContractViolation(message: "ZENTORIA_TEST_S3_ENDPOINT is not set")
        }
        let configuration = S3Configuration(
            endpoint: endpoint, bucket: bucket,
            prefix: prefix ?? "t-\(UInt64.random(in: 0...UInt64.max))",
            credentials: credentials, multipartThreshold: 6 << 20, partSize: 5 << 20,
            requestTimeout: 30)
        try await S3BlobStore(configuration: configuration).createBucket()
        return configuration
    }

    /// Runs the AWS CLI against the test server (an S3 client independent of ours).
    package static func aws(_ arguments: [String]) throws -> CommandResult {
        guard let endpoint else {
            throw ContractViolation(message: "ZENTORIA_TEST_S3_ENDPOINT is not set")
        }
        let path =
            ["/usr/local/bin/aws", "/usr/bin/aws"]
            + (ProcessInfo.processInfo.environment["PATH"] ?? "").split(separator: ":").map {
                "\($0)/aws"
            }
        guard let aws = path.first(where: { FileManager.default.isExecutableFile(atPath: $0) })
        else { throw ContractViolation(message: "the AWS CLI (aws) is not installed") }
        return try CommandRunner.run(
            aws,
            ["--endpoint-url", endpoint, "--region", "us-east-1", "--output", "json"] + arguments,
            environment: [
                "AWS_ACCESS_KEY_ID": credentials.accessKeyID,
                "AWS_SECRET_ACCESS_KEY": credentials.secretAccessKey,
                "AWS_EC2_METADATA_DISABLED": "true",
            ])
    }
}

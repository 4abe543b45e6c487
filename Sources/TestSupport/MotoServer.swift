import Foundation
package import RepositoryCore

#if canImport(Glibc)
    import Glibc
#endif

/// A moto server of one test's own on a free loopback port, for settings the shared one
/// (``S3TestServer``) must keep, such as checking signatures.
///
/// With `INITIAL_NO_AUTH_ACTION_COUNT=0` in its environment moto checks every request
/// against its IAM: the access key must belong to an IAM user created through moto's IAM API,
/// the SigV4 signature must match that key's secret, and the user's policies must allow the
/// action. There is no built-in key (moto 5.2.1, `moto/iam/access_control.py`).
package struct MotoServer: Sendable {
    /// `http://127.0.0.1:PORT`.
    package let endpoint: String

    /// Starts moto with `environment` added to ours, runs `body`, and stops moto whether
    /// `body` returns or throws.
    /// - Throws: when moto does not answer within 20 seconds, with its log.
    package static func withServer<T>(
        environment: [String: String] = [:], _ body: (MotoServer) async throws -> T
    ) async throws -> T {
        let port = try Cluster.freePort()
        let log = FileManager.default.temporaryDirectory
            .appendingPathComponent("moto-\(UUID().uuidString).log")
        _ = FileManager.default.createFile(atPath: log.path, contents: nil)
        defer { try? FileManager.default.removeItem(at: log) }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", "-m", "moto.server", "-H", "127.0.0.1", "-p", "\(port)"]
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = FileHandle.nullDevice
        process.standardError = try FileHandle(forWritingTo: log)
        try process.run()
        defer {
            // SIGKILL: the test runner's threads block SIGTERM, and children inherit the mask.
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
        let server = MotoServer(endpoint: "http://127.0.0.1:\(port)")
        do {
            _ = try python(
                "import time, urllib.request\nfor _ in range(100):\n    try:\n"
                    + "        urllib.request.urlopen('\(server.endpoint)/moto-api/'); break\n"
                    + "    except Exception: time.sleep(0.2)\nelse: raise SystemExit(1)")
        } catch {
            let text = (try? String(contentsOf: log, encoding: .utf8)) ?? ""
            throw ContractViolation(message: "moto did not start on port \(port): \(text)")
        }
        return try await body(server)
    }

    /// Turns moto's signature and IAM checks on or off (`POST /moto-api/reset-auth`).
    package func setAuthentication(_ isEnabled: Bool) throws {
        _ = try Self.python(
            "import urllib.request; urllib.request.urlopen(urllib.request.Request("
                + "'\(endpoint)/moto-api/reset-auth', data=b'\(isEnabled ? "0" : "inf")', "
                + "headers={'Content-Type': 'text/plain'}))")
    }

    /// Creates an IAM user allowed every S3 action and returns a new access key of it.
    /// Checks are off while the user is made (moto checks IAM calls too) and on afterwards.
    package func createS3User(_ name: String) throws -> S3Credentials {
        try setAuthentication(false)
        defer { try? setAuthentication(true) }
        let anyone = S3Credentials(accessKeyID: "setup", secretAccessKey: "setup")
        let policy =
            #"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*"}]}"#
        for arguments in [
            ["iam", "create-user", "--user-name", name],
            [
                "iam", "put-user-policy", "--user-name", name, "--policy-name", "s3",
                "--policy-document", policy,
            ],
        ] {
            let result = try aws(arguments, credentials: anyone)
            guard result.status == 0 else {
                throw ContractViolation(message: "aws \(arguments[1]): \(result.stderr)")
            }
        }
        let created = try aws(
            ["iam", "create-access-key", "--user-name", name], credentials: anyone)
        guard created.status == 0,
            let json = try JSONSerialization.jsonObject(with: Data(created.stdout))
                as? [String: Any],
            let key = json["AccessKey"] as? [String: Any],
            let id = key["AccessKeyId"] as? String,
            let secret = key["SecretAccessKey"] as? String
        else { throw ContractViolation(message: "aws create-access-key: \(created.stderr)") }
        return S3Credentials(accessKeyID: id, secretAccessKey: secret)
    }

    /// Runs the AWS CLI against this server with `credentials`.
    package func aws(_ arguments: [String], credentials: S3Credentials) throws -> CommandResult {
        try CommandRunner.run(
            "/usr/bin/env",
            ["aws", "--endpoint-url", endpoint, "--region", "us-east-1", "--output", "json"]
                + arguments,
            environment: [
                "AWS_ACCESS_KEY_ID": credentials.accessKeyID,
                "AWS_SECRET_ACCESS_KEY": credentials.secretAccessKey,
                "AWS_EC2_METADATA_DISABLED": "true",
            ])
    }

    private static func python(_ script: String) throws -> String {
        let result = try CommandRunner.run("/usr/bin/env", ["python3", "-c", script])
        guard result.status == 0 else {
            throw ContractViolation(message: "python3 failed: \(result.stderr)")
        }
        return result.stdoutText
    }
}

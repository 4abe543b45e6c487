import Foundation
import RepositoryCore
import TestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// Signature Version 4 against AWS's published examples (bucket `examplebucket`,
/// 2013-05-24, the documentation's example key pair).
@Suite("S3 signing")
struct S3SigningTests {
    let signer = S3Signer(
        credentials: S3Credentials(
            accessKeyID: "AKIAIOSFODNN7EXAMPLE",
            secretAccessKey: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"),
        region: "us-east-1")
    let time = 1_369_353_600.0  // 2013-05-24T00:00:00Z

    func authorization(_ request: S3Signer.Request) -> String {
        signer.headers(for: request, at: time).first { $0.name == "authorization" }?.value ?? ""
    }

    @Test("GET object with a range")
    func getObject() {
        let value = authorization(
            .init(
                method: "GET", path: "/test.txt", query: [],
                headers: [("host", "examplebucket.s3.amazonaws.com"), ("range", "bytes=0-9")],
                payloadHash: S3Signer.emptyPayloadHash))
        #expect(
            value
                == "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, "
                + "SignedHeaders=host;range;x-amz-content-sha256;x-amz-date, "
                + "Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41")
    }

    @Test("PUT object with a storage class and an encoded key")
    func putObject() {
        let value = authorization(
            .init(
                method: "PUT", path: "/" + S3Signer.encode("test$file.text", keepingSlash: true),
                query: [],
                headers: [
                    ("Host", "examplebucket.s3.amazonaws.com"),
                    ("Date", "Fri, 24 May 2013 00:00:00 GMT"),
                    ("x-amz-storage-class", "REDUCED_REDUNDANCY"),
                ],
                payloadHash: "44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072"))
        #expect(
            value.hasSuffix(
                "SignedHeaders=date;host;x-amz-content-sha256;x-amz-date;x-amz-storage-class, "
                    + "Signature=98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd"))
    }

    @Test("GET a bucket sub-resource (valueless query parameter)")
    func getLifecycle() {
        let value = authorization(
            .init(
                method: "GET", path: "/", query: [("lifecycle", "")],
                headers: [("host", "examplebucket.s3.amazonaws.com")],
                payloadHash: S3Signer.emptyPayloadHash))
        #expect(
            value.hasSuffix(
                "Signature=fea454ca298b7da1c68078a5d1bdbfbbe0d65c699e0f91ac7a200a0136783543"))
    }

    @Test("GET a bucket listing (query parameters sorted)")
    func listObjects() {
        let value = authorization(
            .init(
                method: "GET", path: "/", query: [("prefix", "J"), ("max-keys", "2")],
                headers: [("host", "examplebucket.s3.amazonaws.com")],
                payloadHash: S3Signer.emptyPayloadHash))
        #expect(
            value.hasSuffix(
                "Signature=34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7"))
    }

    @Test("a session token is sent and signed; the secret is never shown")
    func sessionToken() {
        var credentials = signer.credentials
        credentials.sessionToken = "token/with+chars="
        let headers = S3Signer(credentials: credentials, region: "eu-west-1").headers(
            for: .init(
                method: "GET", path: "/b/k", query: [], headers: [("host", "h")],
                payloadHash: S3Signer.emptyPayloadHash), at: time)
        #expect(headers.contains { $0 == ("x-amz-security-token", "token/with+chars=") })
        let authorization = headers.first { $0.name == "authorization" }?.value ?? ""
        #expect(authorization.contains("/20130524/eu-west-1/s3/aws4_request"))
        #expect(
            authorization.contains(
                "SignedHeaders=host;x-amz-content-sha256;x-amz-date;x-amz-security-token"))
        #expect(!"\(credentials)".contains(credentials.secretAccessKey))
    }

    @Test("path-style and virtual-host requests name the bucket where each style wants it")
    func addressing() throws {
        let credentials = S3Credentials(accessKeyID: "k", secretAccessKey: "s")
        let pathStyle = try S3BlobStore(
            configuration: S3Configuration(
                endpoint: "http://minio.local:9000", bucket: "backups", credentials: credentials))
        #expect(
            pathStyle.target(key: "repo/data/ab/ab01") == (
                "minio.local:9000", "/backups/repo/data/ab/ab01"
            ))
        #expect(pathStyle.target(key: nil) == ("minio.local:9000", "/backups"))
        let virtualHost = try S3BlobStore(
            configuration: S3Configuration(
                endpoint: "https://s3.eu-west-1.amazonaws.com", region: "eu-west-1",
                bucket: "examplebucket", addressing: .virtualHost, credentials: credentials))
        #expect(
            virtualHost.target(key: "test$file.text")
                == ("examplebucket.s3.eu-west-1.amazonaws.com", "/test%24file.text"))
        #expect(virtualHost.target(key: nil) == ("examplebucket.s3.eu-west-1.amazonaws.com", "/"))
    }

    @Test("URI encoding keeps unreserved characters and slashes in paths only")
    func encoding() {
        #expect(S3Signer.encode("a b/c~d_e.f-g+h=", keepingSlash: true) == "a%20b/c~d_e.f-g%2Bh%3D")
        #expect(S3Signer.encode("a/b", keepingSlash: false) == "a%2Fb")
        #expect(S3Signer.encode("é", keepingSlash: false) == "%C3%A9")
    }
}

/// The S3 store against moto's S3 server (started by scripts/test.sh).
@Suite("S3 store")
struct S3StoreTests {
    static let enabled = Testing.ConditionTrait.enabled(
        if: S3TestServer.isAvailable, "needs the moto S3 server that scripts/test.sh starts")

    @Test("S3 store honours the contract", enabled, arguments: BlobStoreContract.checks)
    func contract(_ check: BlobStoreContract.Check) async throws {
        try await check.run(S3BlobStore(configuration: try await S3TestServer.configuration()))
    }

    @Test("large objects go up in parts, never over an existing one", enabled)
    func multipart() async throws {
        let store = try S3BlobStore(configuration: try await S3TestServer.configuration())
        var random = SeededRandom(seed: 5)
        let bytes = random.bytes(13 << 20)
        let name = ObjectName(.data, "ab" + String(repeating: "0", count: 62))
        try await store.put(name, bytes)
        #expect(try await store.get(name) == bytes)
        #expect(
            try await store.get(name, range: (6 << 20)..<((6 << 20) + 100))
                == Array(bytes[(6 << 20)..<((6 << 20) + 100)]))
        await #expect(throws: StorageError(.alreadyExists, "")) {
            try await store.put(name, random.bytes(7 << 20))
        }
        #expect(try await store.get(name) == bytes)
        #expect(try await store.discardIncompleteWrites(olderThan: 0) == 0)
    }

    @Test("a listing longer than one page (1000 keys) is followed to its end", enabled)
    func paging() async throws {
        let store = try S3BlobStore(configuration: try await S3TestServer.configuration())
        let names = (0..<1234).map { ObjectName(.locks, String(format: "lock%05d", $0)) }
        try await withThrowingTaskGroup(of: Void.self) { group in
            for chunk in stride(from: 0, to: names.count, by: 100) {
                group.addTask {
                    for name in names[chunk..<min(chunk + 100, names.count)] {
                        try await store.put(name, [1])
                    }
                }
            }
            try await group.waitForAll()
        }
        let listed = try await store.list(.locks)
        #expect(listed.count == names.count)
        #expect(Set(listed.map(\.name)) == Set(names))
    }

    @Test("objects it writes are read back by the AWS CLI, and the listing agrees", enabled)
    func independentClient() async throws {
        let configuration = try await S3TestServer.configuration()
        let store = try S3BlobStore(configuration: configuration)
        let payload = Array("written by zentoria, read by aws".utf8)
        let name = ObjectName(.snapshots, "5e1f")
        try await store.put(name, payload)
        try await store.put(ObjectName(.data, "cd" + String(repeating: "1", count: 62)), [1, 2, 3])

        let listed = try S3TestServer.aws([
            "s3api", "list-objects-v2", "--bucket", configuration.bucket, "--prefix",
            configuration.prefix + "/",
        ])
        #expect(listed.status == 0, "\(listed.stderr)")
        let keys = Set(
            ((try JSONSerialization.jsonObject(with: Data(listed.stdout)) as? [String: Any])?[
                "Contents"]
                as? [[String: Any]] ?? []).compactMap { $0["Key"] as? String })
        #expect(
            keys == [
                "\(configuration.prefix)/snapshots/5e1f",
                "\(configuration.prefix)/data/cd/cd" + String(repeating: "1", count: 62),
            ])

        try await withTemporaryDirectory { directory in
            let output = "\(directory)/object"
            let read = try S3TestServer.aws([
                "s3api", "get-object", "--bucket", configuration.bucket, "--key",
                "\(configuration.prefix)/snapshots/5e1f", output,
            ])
            #expect(read.status == 0, "\(read.stderr)")
            #expect(FileManager.default.contents(atPath: output).map(Array.init) == payload)
        }
    }

    @Test("an abandoned multipart upload is aborted by discardIncompleteWrites", enabled)
    func abandonedUpload() async throws {
        let configuration = try await S3TestServer.configuration()
        let started = try S3TestServer.aws([
            "s3api", "create-multipart-upload", "--bucket", configuration.bucket, "--key",
            "\(configuration.prefix)/data/ee/ee00",
        ])
        #expect(started.status == 0, "\(started.stderr)")
        let store = try S3BlobStore(configuration: configuration)
        // moto reports every upload as started in 2010, so the age cut-off is checked on
        // the parser below, not here.
        #expect(try await store.discardIncompleteWrites(olderThan: 0) == 1)
        #expect(try await store.discardIncompleteWrites(olderThan: 0) == 0)
    }

    @Test("a bucket in another region is named in the error (AWS's 400 and 301 answers)")
    func wrongRegion() async throws {
        // A stand-in for AWS answering a request signed for the wrong region, as documented:
        // 400 AuthorizationHeaderMalformed for HEAD-less calls, 301 PermanentRedirect for
        // HEAD, both with the bucket's region in x-amz-bucket-region.
        let script = """
            import http.server, sys
            class H(http.server.BaseHTTPRequestHandler):
                def answer(self, status, body):
                    self.send_response(status)
                    self.send_header('x-amz-bucket-region', 'eu-west-1')
                    self.send_header('Content-Type', 'application/xml')
                    self.send_header('Content-Length', str(len(body)))
                    self.end_headers()
                    if self.command != 'HEAD':
                        self.wfile.write(body)
                def do_HEAD(self):
                    self.answer(301, b'')
                def do_GET(self):
                    self.answer(400, b"<Error><Code>AuthorizationHeaderMalformed</Code><Message>The authorization header is malformed; the region 'us-east-1' is wrong; expecting 'eu-west-1'</Message></Error>")
                def log_message(self, *args):
                    pass
            server = http.server.HTTPServer(('127.0.0.1', 0), H)
            print(server.server_address[1], flush=True)
            server.serve_forever()
            """
        let process = try CommandRunner.start("/usr/bin/env", ["python3", "-c", script])
        try process.run()
        defer { kill(process.processIdentifier, SIGKILL) }
        let output = (process.standardOutput as? Pipe)?.fileHandleForReading
        var line = ""
        while !line.hasSuffix("\n"), let byte = try output?.read(upToCount: 1), !byte.isEmpty {
            line += String(decoding: byte, as: UTF8.self)
        }
        let port = try #require(Int(line.trimmingCharacters(in: .whitespacesAndNewlines)))
        let store = try S3BlobStore(
            configuration: S3Configuration(
                endpoint: "http://127.0.0.1:\(port)", bucket: "far-away",
                credentials: S3TestServer.credentials))
        let head = await #expect(throws: StorageError.self) { try await store.checkAccess() }
        #expect(head?.code == .permanent)
        #expect(
            head?.message.contains("is in 'eu-west-1', not 'us-east-1'") == true,
            "\(String(describing: head))")
        let list = await #expect(throws: StorageError.self) { _ = try await store.list(.index) }
        #expect(list?.code == .permanent)
        #expect(
            list?.message.contains("is in 'eu-west-1', not 'us-east-1'") == true,
            "\(String(describing: list))")
        #expect(list?.message.contains("AuthorizationHeaderMalformed") == true)
    }

    @Test("upload start times parse as UTC")
    func uploadTimes() {
        #expect(S3BlobStore.parseTime("2026-11-27T04:00:00.000Z") == 1_795_752_000)
        #expect(S3BlobStore.parseTime("1970-01-01T00:00:01Z") == 1)
        #expect(S3BlobStore.parseTime("yesterday") == nil)
    }

    @Test("a missing bucket, an unreachable endpoint and a bad endpoint give clear errors", enabled)
    func clearErrors() async throws {
        var configuration = try await S3TestServer.configuration()
        configuration.bucket = "no-such-bucket-\(UInt32.random(in: 0...UInt32.max))"
        let missing = try S3BlobStore(configuration: configuration)
        let error = await #expect(throws: StorageError.self) { try await missing.checkAccess() }
        #expect(error?.code == .permanent)
        #expect(error?.message.contains("does not exist") == true, "\(String(describing: error))")
        #expect(error?.message.contains(configuration.bucket) == true)

        configuration.endpoint = "http://127.0.0.1:1"
        let unreachable = try S3BlobStore(configuration: configuration)
        let down = await #expect(throws: StorageError.self) {
            _ = try await unreachable.list(.snapshots)
        }
        #expect(down?.code == .transient)
        #expect(down?.message.contains("http://127.0.0.1:1") == true)

        configuration.endpoint = "127.0.0.1:9000/path"
        #expect(throws: StorageError.self) { try S3BlobStore(configuration: configuration) }
    }
}

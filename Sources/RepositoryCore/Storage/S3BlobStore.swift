import AsyncHTTPClient
import Crypto
import Foundation
import NIOCore
import NIOHTTP1

/// A ``BlobStore`` in an S3 bucket: MinIO, Ceph RGW, AWS or anything speaking their API.
///
/// Requests are signed with Signature Version 4 over the payload's SHA-256, so the service
/// rejects a body damaged in transit. A `put` is one conditional PUT (`If-None-Match: *`),
/// or above ``S3Configuration/multipartThreshold`` a multipart upload completed with the same
/// condition: S3 makes an object visible only when it is complete, and refuses to replace one
/// (412). Services that ignore the condition (MinIO before 2024) are guarded by nothing more
/// than one writer per tier. Failures are classified, not retried: wrap the store in a
/// ``RetryingBlobStore``.
package final class S3BlobStore: BlobStore {
    package let name: String
    package let configuration: S3Configuration
    package var maxConcurrentRequests: Int { configuration.maxConcurrentRequests }
    private let signer: S3Signer
    private let scheme: String
    /// `host[:port]` of the service, without the bucket.
    private let authority: String

    /// Opens a store; nothing is contacted until the first request (see ``checkAccess()``).
    /// - Throws: `.permanent` when the endpoint is not an `http(s)://host[:port]` address.
    package init(configuration: S3Configuration, name: String = "s3") throws {
        guard let url = URL(string: configuration.endpoint), let scheme = url.scheme?.lowercased(),
            scheme == "http" || scheme == "https", let host = url.host, !host.isEmpty,
            url.path.isEmpty || url.path == "/", url.query == nil
        else {
            throw StorageError(
                .permanent,
                "S3 endpoint '\(configuration.endpoint)' is not an http(s)://host[:port] address")
        }
        guard !configuration.bucket.isEmpty, !configuration.bucket.contains("/") else {
            throw StorageError(.permanent, "S3 bucket name '\(configuration.bucket)' is invalid")
        }
        self.configuration = configuration
        self.name = name
        self.scheme = scheme
        self.authority = url.port.map { "\(host):\($0)" } ?? host
        self.signer = S3Signer(credentials: configuration.credentials, region: configuration.region)
    }

    /// Checks that the bucket exists and the credentials may use it, with an error that says
    /// which of the two (or the region) is wrong.
    package func checkAccess() async throws {
        let response = try await send(.HEAD, key: nil)
        guard response.status == 200 else { throw failure(response, "open the bucket") }
    }

    /// Creates the bucket; one that exists and is ours already is fine.
    package func createBucket() async throws {
        let body =
            configuration.region == "us-east-1"
            ? ""
            : "<CreateBucketConfiguration><LocationConstraint>\(configuration.region)"
                + "</LocationConstraint></CreateBucketConfiguration>"
        let response = try await send(.PUT, key: nil, body: ArraySlice(body.utf8), readBody: true)
        let code = S3XML(response.body)?.text("Code")
        guard response.status == 200 || code == "BucketAlreadyOwnedByYou" else {
            throw failure(response, "create the bucket")
        }
    }

    package func put(_ name: ObjectName, _ bytes: [UInt8]) async throws {
        if bytes.count > configuration.multipartThreshold {
            try await putMultipart(name, bytes)
            return
        }
        let response = try await send(
            .PUT, key: key(for: name),
            headers: [("content-type", "application/octet-stream"), ("if-none-match", "*")],
            body: bytes[...])
        guard response.status == 200 else { throw failure(response, "put \(name)") }
    }

    package func get(_ name: ObjectName, range: Range<Int>?) async throws -> [UInt8] {
        if let range, range.isEmpty {
            let size = try await size(of: name)
            guard range.lowerBound >= 0, range.lowerBound <= size else {
                throw StorageError(.permanent, "range \(range) outside \(name) of \(size) bytes")
            }
            return []
        }
        var headers: [(String, String)] = []
        if let range {
            guard range.lowerBound >= 0 else {
                throw StorageError(.permanent, "range \(range) outside \(name)")
            }
            headers.append(("range", "bytes=\(range.lowerBound)-\(range.upperBound - 1)"))
        }
        let response = try await send(.GET, key: key(for: name), headers: headers, readBody: true)
        switch (response.status, range) {
        case (200, nil):
            return response.body
        case (200, let range?):
            guard range.upperBound <= response.body.count else { throw outside(range, name) }
            return Array(response.body[range])
        case (206, let range?):
            guard response.body.count == range.count else { throw outside(range, name) }
            return response.body
        case (416, let range?):
            throw outside(range, name)
        default:
            throw failure(response, "get \(name)")
        }
    }

    package func size(of name: ObjectName) async throws -> Int {
        let response = try await send(.HEAD, key: key(for: name))
        guard response.status == 200 else { throw failure(response, "size of \(name)") }
        guard let length = response.headers.first(name: "content-length").flatMap({ Int($0) })
        else { throw StorageError(.permanent, "S3 sent no Content-Length for \(name)") }
        return length
    }

    package func list(_ kind: ObjectKind) async throws -> [ObjectInfo] {
        let root = keyPrefix
        let prefix = kind == .config ? root + "config" : root + kind.rawValue + "/"
        var found: [ObjectInfo] = []
        var token: String?
        repeat {
            var query = [("list-type", "2"), ("prefix", prefix), ("max-keys", "1000")]
            if let token { query.append(("continuation-token", token)) }
            let response = try await send(.GET, key: nil, query: query, readBody: true)
            guard response.status == 200, let result = S3XML(response.body),
                result.name == "ListBucketResult"
            else { throw failure(response, "list \(kind.rawValue)") }
            for entry in result.all("Contents") {
                guard let key = entry.text("Key"), key.hasPrefix(root),
                    let size = entry.text("Size").flatMap({ Int($0) }),
                    let object = ObjectName(path: String(key.dropFirst(root.count))),
                    object.kind == kind
                else { continue }
                found.append(ObjectInfo(name: object, size: size))
            }
            token =
                result.text("IsTruncated") == "true" ? result.text("NextContinuationToken") : nil
        } while token != nil
        return found
    }

    package func delete(_ name: ObjectName) async throws {
        // S3 answers 204 whether or not the key existed; the contract wants notFound.
        _ = try await size(of: name)
        let response = try await send(.DELETE, key: key(for: name))
        guard response.status == 204 || response.status == 200 else {
            throw failure(response, "delete \(name)")
        }
    }

    /// Aborts multipart uploads under this store's prefix started more than `age` seconds ago.
    package func discardIncompleteWrites(olderThan age: Double) async throws -> Int {
        let cutoff = Date().timeIntervalSince1970 - age
        let stale = try await openUploads(prefix: keyPrefix).filter {
            ($0.started ?? .infinity) <= cutoff
        }
        for upload in stale {
            try await abort(key: upload.key, uploadID: upload.uploadID)
        }
        return stale.count
    }

    /// Unfinished multipart uploads whose keys start with `prefix`.
    private func openUploads(
        prefix: String
    ) async throws -> [(key: String, uploadID: String, started: Double?)] {
        var uploads: [(key: String, uploadID: String, started: Double?)] = []
        var markers: (key: String, upload: String)?
        repeat {
            var query = [("uploads", ""), ("prefix", prefix)]
            if let markers {
                query += [("key-marker", markers.key), ("upload-id-marker", markers.upload)]
            }
            let response = try await send(.GET, key: nil, query: query, readBody: true)
            guard response.status == 200, let result = S3XML(response.body),
                result.name == "ListMultipartUploadsResult"
            else { throw failure(response, "list unfinished uploads") }
            for upload in result.all("Upload") {
                guard let key = upload.text("Key"), let id = upload.text("UploadId") else {
                    continue
                }
                uploads.append((key, id, upload.text("Initiated").flatMap(Self.parseTime)))
            }
            markers = nil
            if result.text("IsTruncated") == "true", let key = result.text("NextKeyMarker"),
                let upload = result.text("NextUploadIdMarker")
            {
                markers = (key, upload)
            }
        } while markers != nil
        return uploads
    }

    // MARK: - Multipart

    private func putMultipart(_ name: ObjectName, _ bytes: [UInt8]) async throws {
        if try await exists(name) {
            throw StorageError(.alreadyExists, "\(name) already exists")
        }
        let key = key(for: name)
        let started: Response
        do {
            started = try await send(.POST, key: key, query: [("uploads", "")], readBody: true)
        } catch let error as StorageError where error.code == .transient {
            // The upload may exist with its answer lost: abort what is open for this key (one
            // coordinator writes a tier, and its retry of this put has not started yet).
            for upload in (try? await openUploads(prefix: key)) ?? [] where upload.key == key {
                await abandon(key: key, uploadID: upload.uploadID)
            }
            throw error
        }
        guard started.status == 200, let result = S3XML(started.body),
            let uploadID = result.text("UploadId")
        else { throw failure(started, "start the upload of \(name)") }
        do {
            var parts: [(number: Int, etag: String)] = []
            for (index, start) in stride(from: 0, to: bytes.count, by: configuration.partSize)
                .enumerated()
            {
                try Task.checkCancellation()
                let end = min(start + configuration.partSize, bytes.count)
                let number = index + 1
                let response = try await send(
                    .PUT, key: key,
                    query: [("partNumber", "\(number)"), ("uploadId", uploadID)],
                    body: bytes[start..<end])
                guard response.status == 200, let etag = response.headers.first(name: "etag")
                else { throw failure(response, "upload part \(number) of \(name)") }
                parts.append((number, etag))
            }
            let manifest =
                "<CompleteMultipartUpload>"
                + parts.map {
                    "<Part><PartNumber>\($0.number)</PartNumber><ETag>\(Self.escape($0.etag))</ETag></Part>"
                }.joined() + "</CompleteMultipartUpload>"
            let response = try await send(
                .POST, key: key, query: [("uploadId", uploadID)],
                headers: [("content-type", "application/xml"), ("if-none-match", "*")],
                body: ArraySlice(manifest.utf8), readBody: true)
            // AWS may answer 200 with an <Error> body: trust the body, not the status.
            guard response.status == 200,
                S3XML(response.body)?.name.hasPrefix("CompleteMultipartUpload") == true
            else { throw failure(response, "complete the upload of \(name)") }
        } catch {
            await abandon(key: key, uploadID: uploadID)
            throw error
        }
    }

    /// Aborts an upload that failed, retrying transient failures a few times: the put's own
    /// retry starts a new upload, so this one would stay open (and billed) until a prune.
    private func abandon(key: String, uploadID: String) async {
        for attempt in 0..<4 {
            do {
                return try await abort(key: key, uploadID: uploadID)
            } catch let error as StorageError where error.code == .transient {
                try? await Task.sleep(for: .milliseconds(100 << attempt))
            } catch {
                return
            }
        }
    }

    private func abort(key: String, uploadID: String) async throws {
        let response = try await send(.DELETE, key: key, query: [("uploadId", uploadID)])
        guard response.status == 204 || response.status == 200 || response.status == 404 else {
            throw failure(response, "abort an unfinished upload")
        }
    }

    // MARK: - Requests

    private struct Response {
        var status: Int
        var headers: HTTPHeaders
        var body: [UInt8]
    }

    private var keyPrefix: String { configuration.prefix.isEmpty ? "" : configuration.prefix + "/" }

    private func key(for name: ObjectName) -> String { keyPrefix + name.path }

    /// The `Host` header and the encoded path of a request for `key` (the bucket itself when
    /// nil), by the configured addressing style.
    package func target(key: String?) -> (host: String, path: String) {
        let bucket = configuration.bucket
        switch configuration.addressing {
        case .path:
            var path = "/" + S3Signer.encode(bucket, keepingSlash: false)
            if let key { path += "/" + S3Signer.encode(key, keepingSlash: true) }
            return (authority, path)
        case .virtualHost:
            return (
                "\(bucket).\(authority)",
                "/" + (key.map { S3Signer.encode($0, keepingSlash: true) } ?? "")
            )
        }
    }

    /// Sends one signed request and collects its answer; network failures are `.transient`.
    private func send(
        _ method: HTTPMethod, key: String?, query: [(String, String)] = [],
        headers extra: [(String, String)] = [], body: ArraySlice<UInt8> = [], readBody: Bool = false
    ) async throws -> Response {
        let (host, path) = target(key: key)
        let queryText = query.map {
            S3Signer.encode($0.0, keepingSlash: false) + "="
                + S3Signer.encode($0.1, keepingSlash: false)
        }.joined(separator: "&")
        let payloadHash =
            body.isEmpty ? S3Signer.emptyPayloadHash : S3Signer.hex(SHA256.hash(data: body))
        var headers = [("host", host)] + extra
        headers += signer.headers(
            for: S3Signer.Request(
                method: method.rawValue, path: path, query: query.map { ($0.0, $0.1) },
                headers: headers.map { ($0.0, $0.1) }, payloadHash: payloadHash),
            at: Date().timeIntervalSince1970)

        var request = HTTPClientRequest(
            url: "\(scheme)://\(host)\(path)" + (queryText.isEmpty ? "" : "?" + queryText))
        request.method = method
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        if !body.isEmpty || method == .PUT || method == .POST {
            // Above 4 MiB, copied into the request 4 MiB at a time as it is sent.
            request.body = .bytes(body)
        }
        let timeout = TimeAmount.milliseconds(Int64(configuration.requestTimeout * 1000))
        do {
            let response = try await Self.client.execute(request, timeout: timeout)
            let length = response.headers.first(name: "content-length").flatMap { Int($0) }
            let wanted = readBody || response.status.code >= 300
            let limit = wanted ? max(length ?? (64 << 20), 0) : 1 << 20
            var collected = try await response.body.collect(upTo: limit)
            return Response(
                status: Int(response.status.code), headers: response.headers,
                body: wanted ? collected.readBytes(length: collected.readableBytes) ?? [] : [])
        } catch let error as StorageError {
            throw error
        } catch is CancellationError {
            throw CancellationError()
        } catch {
            throw StorageError(
                .transient, "cannot reach S3 at \(configuration.endpoint): \(error)", cause: error)
        }
    }

    /// One client for the process, never shut down: its connections are pooled per host.
    private static let client: HTTPClient = {
        var configuration = HTTPClient.Configuration(
            redirectConfiguration: .disallow,
            timeout: .init(connect: .seconds(10), read: .seconds(120)))
        configuration.httpVersion = .http1Only
        configuration.decompression = .disabled
        // Fail fast on a refused connection; RetryingBlobStore decides about retries.
        configuration.connectionPool.retryConnectionEstablishment = false
        return HTTPClient(
            eventLoopGroup: HTTPClient.defaultEventLoopGroup, configuration: configuration)
    }()

    // MARK: - Errors

    private func outside(_ range: Range<Int>, _ name: ObjectName) -> StorageError {
        StorageError(.permanent, "range \(range) reaches past the end of \(name)")
    }

    /// Turns an S3 error answer into a classified error naming what failed and why.
    private func failure(_ response: Response, _ action: String) -> StorageError {
        let error = S3XML(response.body)
        let code = error?.text("Code") ?? ""
        let excerpt = String(decoding: response.body.prefix(200), as: UTF8.self)
        let detail =
            error?.text("Message").map { ": \($0)" }
            ?? (code.isEmpty && !excerpt.isEmpty ? ": unexpected answer '\(excerpt)'" : "")
        let bucket = "'\(configuration.bucket)' at \(configuration.endpoint)"
        let status = response.status
        let said = "S3 answered \(status)\(code.isEmpty ? "" : " \(code)")\(detail)"
        let region = response.headers.first(name: "x-amz-bucket-region")
        switch (status, code) {
        case (_, "NoSuchBucket"),
            (404, _) where action == "open the bucket":
            return StorageError(.permanent, "cannot \(action): bucket \(bucket) does not exist")
        case (404, "NoSuchUpload"):
            return StorageError(.transient, "cannot \(action): the upload vanished (\(said))")
        case (404, _):
            return StorageError(.notFound, "cannot \(action): not found")
        case (412, _):
            return StorageError(.alreadyExists, "cannot \(action): the object already exists")
        case (403, "RequestTimeTooSkewed"):
            return StorageError(
                .unauthorized,
                "cannot \(action): this host's clock is more than 15 minutes off S3's (\(said))")
        case (403, _):
            return StorageError(
                .unauthorized,
                "cannot \(action): S3 refused access key '\(configuration.credentials.accessKeyID)' "
                    + "for bucket \(bucket) (\(said))")
        case (301, _), (307, _), (_, "PermanentRedirect"), (_, "AuthorizationHeaderMalformed"),
            (_, "IllegalLocationConstraintException"):
            let actual = region.map { "'\($0)'" } ?? "another region"
            return StorageError(
                .permanent,
                "cannot \(action): bucket \(bucket) is in \(actual), not '\(configuration.region)' (\(said))"
            )
        case (_, "SlowDown"), (_, "RequestTimeout"), (_, "InternalError"),
            (_, "ConditionalRequestConflict"), (_, "OperationAborted"), (429, _), (500, _),
            (502, _), (503, _), (504, _):
            return StorageError(.transient, "cannot \(action): \(said)")
        case (507, _), (_, "XMinioStorageFull"), (_, "QuotaExceeded"):
            return StorageError(.noSpace, "cannot \(action): \(said)")
        default:
            return StorageError(.permanent, "cannot \(action): \(said)")
        }
    }

    private static func escape(_ text: String) -> String {
        text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(
            of: "\"", with: "&quot;"
        )
        .replacingOccurrences(of: "<", with: "&lt;")
    }

    /// Seconds since 1970 of an ISO 8601 UTC time such as `2026-11-27T04:00:00.000Z`.
    package static func parseTime(_ text: String) -> Double? {
        let digits = text.utf8.map { Int($0) - 48 }
        guard digits.count >= 19 else { return nil }
        func number(_ range: Range<Int>) -> Int? {
            var value = 0
            for i in range {
                guard (0...9).contains(digits[i]) else { return nil }
                value = value * 10 + digits[i]
            }
            return value
        }
        guard let year = number(0..<4), let month = number(5..<7), let day = number(8..<10),
            let hour = number(11..<13), let minute = number(14..<16), let second = number(17..<19)
        else { return nil }
        let days = WallClock.dayNumber(year: year, month: month, day: day)
        return Double(days * 86_400 + hour * 3600 + minute * 60 + second)
    }
}

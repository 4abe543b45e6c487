import Crypto

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// AWS Signature Version 4 for S3 header authentication: a pure function of the request,
/// the credentials and the time, checked against AWS's published examples.
package struct S3Signer: Sendable {
    package var credentials: S3Credentials
    package var region: String
    package var service = "s3"

    package init(credentials: S3Credentials, region: String) {
        (self.credentials, self.region) = (credentials, region)
    }

    /// One request to sign. `path` is the absolute path as sent (already URI-encoded once),
    /// `query` the decoded parameters, `headers` every header to sign (`host` included).
    package struct Request: Sendable {
        package var method: String
        package var path: String
        package var query: [(name: String, value: String)]
        package var headers: [(name: String, value: String)]
        package var payloadHash: String

        package init(
            method: String, path: String, query: [(name: String, value: String)],
            headers: [(name: String, value: String)], payloadHash: String
        ) {
            (self.method, self.path, self.query) = (method, path, query)
            (self.headers, self.payloadHash) = (headers, payloadHash)
        }
    }

    /// The hex SHA-256 of an empty body.
    package static let emptyPayloadHash =
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

    /// The headers to add to `request` sent at `time` (seconds since 1970): `x-amz-date`,
    /// `x-amz-content-sha256`, `x-amz-security-token` with a session token, and `authorization`.
    package func headers(for request: Request, at time: Double) -> [(name: String, value: String)] {
        let stamp = Self.timestamp(time)
        let day = String(stamp.prefix(8))
        var added: [(name: String, value: String)] = [
            ("x-amz-date", stamp), ("x-amz-content-sha256", request.payloadHash),
        ]
        if let token = credentials.sessionToken { added.append(("x-amz-security-token", token)) }
        var signing = request
        signing.headers += added
        let canonical = Self.canonicalRequest(signing)
        let scope = "\(day)/\(region)/\(service)/aws4_request"
        let stringToSign = [
            "AWS4-HMAC-SHA256", stamp, scope,
            Self.hex(SHA256.hash(data: Array(canonical.text.utf8))),
        ].joined(separator: "\n")
        let signature = Self.hex(signingKey(day: day).authenticate(stringToSign))
        added.append(
            (
                "authorization",
                "AWS4-HMAC-SHA256 Credential=\(credentials.accessKeyID)/\(scope), "
                    + "SignedHeaders=\(canonical.signedHeaders), Signature=\(signature)"
            ))
        return added
    }

    private func signingKey(day: String) -> SymmetricKey {
        var key = SymmetricKey(data: Array("AWS4\(credentials.secretAccessKey)".utf8))
        for part in [day, region, service, "aws4_request"] {
            key = SymmetricKey(data: Array(key.authenticate(part)))
        }
        return key
    }

    /// The canonical request text (step 2 of the algorithm) and its signed-header list.
    static func canonicalRequest(_ request: Request) -> (text: String, signedHeaders: String) {
        let pairs: [(name: String, value: String)] = request.query.map {
            (encode($0.name, keepingSlash: false), encode($0.value, keepingSlash: false))
        }
        let query = pairs.sorted { $0.name == $1.name ? $0.value < $1.value : $0.name < $1.name }
            .map { "\($0.name)=\($0.value)" }
            .joined(separator: "&")
        var merged: [String: [String]] = [:]
        for (name, value) in request.headers {
            merged[name.lowercased(), default: []].append(collapseSpaces(value))
        }
        let names = merged.keys.sorted()
        let headers = names.map { "\($0):\(merged[$0, default: []].joined(separator: ","))\n" }
            .joined()
        let signed = names.joined(separator: ";")
        let text = [request.method, request.path, query, headers, signed, request.payloadHash]
            .joined(separator: "\n")
        return (text, signed)
    }

    /// URI-encodes per RFC 3986 as SigV4 wants: everything except `A-Za-z0-9-_.~`
    /// (and `/` in paths) becomes `%XX` with upper-case hex.
    package static func encode(_ text: String, keepingSlash: Bool) -> String {
        var out = ""
        out.reserveCapacity(text.utf8.count)
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
                UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "_"),
                UInt8(ascii: "."), UInt8(ascii: "~"):
                out.unicodeScalars.append(Unicode.Scalar(byte))
            case UInt8(ascii: "/") where keepingSlash:
                out.append("/")
            default:
                let digits = Array("0123456789ABCDEF")
                out.append("%")
                out.append(digits[Int(byte >> 4)])
                out.append(digits[Int(byte & 0x0f)])
            }
        }
        return out
    }

    /// `YYYYMMDD'T'HHMMSS'Z'` in UTC.
    static func timestamp(_ time: Double) -> String {
        var seconds = time_t(time.rounded(.down))
        var parts = tm()
        gmtime_r(&seconds, &parts)
        func two(_ n: Int32) -> String { n < 10 ? "0\(n)" : "\(n)" }
        return "\(parts.tm_year + 1900)\(two(parts.tm_mon + 1))\(two(parts.tm_mday))T"
            + "\(two(parts.tm_hour))\(two(parts.tm_min))\(two(parts.tm_sec))Z"
    }

    private static func collapseSpaces(_ value: String) -> String {
        value.split(separator: " ", omittingEmptySubsequences: true).joined(separator: " ")
    }

    static func hex(_ bytes: some Sequence<UInt8>) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var out = [UInt8]()
        for byte in bytes {
            out.append(digits[Int(byte >> 4)])
            out.append(digits[Int(byte & 0x0f)])
        }
        return String(decoding: out, as: UTF8.self)
    }
}

extension SymmetricKey {
    fileprivate func authenticate(_ text: String) -> HashedAuthenticationCode<SHA256> {
        HMAC<SHA256>.authenticationCode(for: Array(text.utf8), using: self)
    }
}

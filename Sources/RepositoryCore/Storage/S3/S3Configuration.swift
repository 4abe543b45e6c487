/// Where an ``S3BlobStore`` keeps its objects and how it talks to the service.
package struct S3Configuration: Sendable, Hashable {
    /// How the bucket appears in requests.
    package enum Addressing: String, Sendable, Hashable {
        /// `http(s)://endpoint/bucket/key`: MinIO's default, Ceph RGW, moto.
        case path
        /// `http(s)://bucket.endpoint/key`: AWS's default.
        case virtualHost = "virtual-host"
    }

    /// `http(s)://host[:port]` of the service, without a path.
    package var endpoint: String
    package var region: String
    package var bucket: String
    /// A key prefix inside the bucket (`zentoria/tier2`), empty for the bucket's root.
    package var prefix: String
    package var addressing: Addressing
    package var credentials: S3Credentials
    /// Objects larger than this go up as multipart uploads.
    package var multipartThreshold: Int
    /// The size of each part but the last (S3's minimum is 5 MiB).
    package var partSize: Int
    package var maxConcurrentRequests: Int
    /// How long one request may take in all, in seconds (a part or an object included).
    package var requestTimeout: Double

    /// Defaults suit MinIO and AWS: path style, 64 MiB multipart threshold, 16 MiB parts,
    /// 8 requests at a time, 5 minutes per request.
    package init(
        endpoint: String, region: String = "us-east-1", bucket: String, prefix: String = "",
        addressing: Addressing = .path, credentials: S3Credentials,
        multipartThreshold: Int = 64 << 20, partSize: Int = 16 << 20,
        maxConcurrentRequests: Int = 8, requestTimeout: Double = 300
    ) {
        (self.endpoint, self.region, self.bucket) = (endpoint, region, bucket)
        self.prefix = prefix.split(separator: "/").joined(separator: "/")
        (self.addressing, self.credentials) = (addressing, credentials)
        (self.multipartThreshold, self.partSize) = (multipartThreshold, max(partSize, 5 << 20))
        (self.maxConcurrentRequests, self.requestTimeout) = (
            max(1, maxConcurrentRequests), requestTimeout
        )
    }
}

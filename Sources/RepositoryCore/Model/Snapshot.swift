package import Foundation

/// The manifest of one dump: who made it, when, how big, and its chunks in order (FORMAT.md §8).
package struct Snapshot: Sendable, Hashable {
    /// Name of the sealed object; not part of the encoded manifest.
    package var id: SnapshotID
    package var agent: String
    package var component: String
    package var kind: String
    package var tags: [String]
    package var hostname: String
    package var startTime: Date
    package var endTime: Date
    /// Bytes of the dump.
    package var size: Int
    /// Bytes the repository grew by for this backup (packs and index written).
    package var bytesAdded: Int
    package var chunks: [ChunkID]

    package init(
        id: SnapshotID, agent: String, component: String, kind: String, tags: [String],
        hostname: String,
        startTime: Date, endTime: Date, size: Int, bytesAdded: Int, chunks: [ChunkID]
    ) {
        self.id = id
        (self.agent, self.component, self.kind, self.tags, self.hostname) = (
            agent, component, kind, tags, hostname
        )
        (self.startTime, self.endTime, self.size, self.bytesAdded, self.chunks) =
            (startTime, endTime, size, bytesAdded, chunks)
    }
}

extension Snapshot {
    private struct Manifest: Codable {
        var version: Int
        var agent: String
        var component: String
        var kind: String
        var tags: [String]
        var hostname: String
        var startTime: String
        var endTime: String
        var size: Int
        var bytesAdded: Int
        var chunkCount: Int
        var chunks: String
    }

    static let manifestVersion = 1

    func encodedManifest() throws -> [UInt8] {
        var joined: [UInt8] = []
        joined.reserveCapacity(chunks.count * 32)
        for chunk in chunks { chunk.digest.append(to: &joined) }
        let manifest = Manifest(
            version: Self.manifestVersion, agent: agent, component: component, kind: kind,
            tags: tags,
            hostname: hostname, startTime: Timestamp.format(startTime),
            endTime: Timestamp.format(endTime),
            size: size, bytesAdded: bytesAdded, chunkCount: chunks.count,
            chunks: Data(joined).base64EncodedString())
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return Array(try encoder.encode(manifest))
    }

    init(id: SnapshotID, decodingManifest bytes: [UInt8]) throws {
        let manifest: Manifest
        do {
            manifest = try JSONDecoder().decode(Manifest.self, from: Data(bytes))
        } catch {
            throw RepositoryError(
                .malformed, "snapshot \(id.shortDescription) is not a valid manifest", cause: error)
        }
        guard manifest.version == Self.manifestVersion else {
            throw RepositoryError(
                .unsupportedVersion, "snapshot manifest version \(manifest.version)")
        }
        guard let joined = Data(base64Encoded: manifest.chunks),
            joined.count == manifest.chunkCount * 32,
            let start = Timestamp.parse(manifest.startTime),
            let end = Timestamp.parse(manifest.endTime)
        else {
            throw RepositoryError(
                .malformed, "snapshot \(id.shortDescription) has a damaged chunk list or time")
        }
        let chunks = joined.withUnsafeBytes { buffer in
            (0..<manifest.chunkCount).map { ChunkID(Digest256(reading: buffer, at: $0 * 32)) }
        }
        self.init(
            id: id, agent: manifest.agent, component: manifest.component, kind: manifest.kind,
            tags: manifest.tags,
            hostname: manifest.hostname, startTime: start, endTime: end, size: manifest.size,
            bytesAdded: manifest.bytesAdded, chunks: chunks)
    }
}

/// RFC 3339 timestamps with milliseconds, UTC, as stored in the format.
package enum Timestamp {
    private static let style = Date.ISO8601FormatStyle(includingFractionalSeconds: true)

    package static func format(_ date: Date) -> String { style.format(date) }

    package static func parse(_ text: String) -> Date? {
        if let date = try? style.parse(text) { return date }
        return try? Date.ISO8601FormatStyle().parse(text)
    }
}

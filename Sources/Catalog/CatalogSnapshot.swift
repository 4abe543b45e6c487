package import Foundation

/// The catalog's cached copy of one snapshot's metadata in one tier.
///
/// The repository is the source of truth; this cache only spares listing and decrypting
/// snapshot manifests. `catalog rebuild` replaces a tier's cache from the repository.
package struct CatalogSnapshot: Hashable, Sendable, Codable {
    /// The snapshot's ID (hex), unique within its tier.
    package var id: String
    /// The tier holding the snapshot, `local` unless it is a replica.
    package var tier: String
    package var agent: String
    package var component: String
    /// The component's kind, such as `postgresql`.
    package var kind: String
    /// When the dump started.
    package var startTime: Date
    /// When the dump ended.
    package var endTime: Date
    /// The dump's size in bytes.
    package var size: Int64
    /// Bytes of new data the backup added to the repository.
    package var bytesAdded: Int64
    package var tags: [String]

    package init(
        id: String, tier: String = "local", agent: String, component: String, kind: String,
        startTime: Date, endTime: Date, size: Int64, bytesAdded: Int64, tags: [String] = []
    ) {
        self.id = id
        self.tier = tier
        self.agent = agent
        self.component = component
        self.kind = kind
        self.startTime = startTime
        self.endTime = endTime
        self.size = size
        self.bytesAdded = bytesAdded
        self.tags = tags
    }
}

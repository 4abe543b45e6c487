import Foundation

/// Parameters fixed when a repository is created (FORMAT.md §2). Tiers that copy between each
/// other share them and the master key.
package struct RepositoryConfig: Codable, Sendable, Hashable {
    /// The format version this build writes and reads.
    package static let currentVersion = 1

    /// Random identifier of the repository (not secret).
    package var id: String
    package var chunker: ChunkerParameters
    /// Packs are closed once they reach this size.
    package var packSize: Int
    /// zstd level for chunks.
    package var compressionLevel: Int

    package init(
        id: String = RepositoryConfig.randomID(), chunker: ChunkerParameters = .default,
        packSize: Int = 16 * 1024 * 1024, compressionLevel: Int = 3
    ) {
        (self.id, self.chunker, self.packSize, self.compressionLevel) = (
            id, chunker, packSize, compressionLevel
        )
    }

    package func validate() throws {
        try chunker.validate()
        guard (1024 * 1024...512 * 1024 * 1024).contains(packSize) else {
            throw RepositoryError(
                .invalidArgument, "pack size must be between 1 MiB and 512 MiB (got \(packSize))")
        }
        guard (1...19).contains(compressionLevel) else {
            throw RepositoryError(
                .invalidArgument, "zstd level must be 1...19 (got \(compressionLevel))")
        }
    }

    package static func randomID() -> String {
        var generator = SystemRandomNumberGenerator()
        return (0..<16).map { _ in
            String(format: "%02x", UInt8.random(in: 0...255, using: &generator))
        }.joined()
    }
}

/// The `config` object: readable version and ID, the rest sealed (FORMAT.md §2).
struct ConfigObject: Codable {
    var format: String
    var version: Int
    var id: String
    var sealed: Data

    static let formatName = "zentoria-repository"
}

/// Minimum, average and maximum chunk sizes (FORMAT.md §4). Part of the repository config:
/// tiers that share chunks must share these.
package struct ChunkerParameters: Hashable, Sendable, Codable {
    package var minimumSize: Int
    package var averageSize: Int
    package var maximumSize: Int

    /// 256 KiB / 512 KiB / 2 MiB: chosen by measurement on PostgreSQL dumps (README, "Chunk
    /// sizes"): a concentrated change stores about a third less than 512 KiB / 1 MiB / 8 MiB at
    /// the same compression ratio.
    package static let `default` = ChunkerParameters(
        minimumSize: 256 * 1024, averageSize: 512 * 1024, maximumSize: 2 * 1024 * 1024)

    package init(minimumSize: Int, averageSize: Int, maximumSize: Int) {
        (self.minimumSize, self.averageSize, self.maximumSize) = (
            minimumSize, averageSize, maximumSize
        )
    }

    /// Rejects sizes the chunker cannot honour.
    package func validate() throws {
        guard minimumSize >= 64, averageSize.nonzeroBitCount == 1,
            minimumSize < averageSize, averageSize < maximumSize,
            maximumSize <= 64 * 1024 * 1024, averageSize >= 256
        else {
            throw RepositoryError(
                .invalidArgument,
                "chunk sizes must satisfy 64 <= min < avg < max <= 64 MiB with avg a power of two "
                    + "(got \(minimumSize)/\(averageSize)/\(maximumSize))")
        }
    }
}

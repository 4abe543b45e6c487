package import Logging
package import RepositoryCore

/// Every tier of the repository, nearest first (tier 1, then the configured order), opened
/// on first use: finds which tier holds a snapshot and restores from it, reading a chunk
/// that is missing or damaged there from the other tiers.
package actor TierSet {
    private let primary: Repository
    private let tiers: [TierConfiguration]
    private let logger: Logger
    private var repositories: [String: Repository] = [:]

    package init(primary: Repository, tiers: [TierConfiguration], logger: Logger) {
        (self.primary, self.tiers, self.logger) = (primary, tiers, logger)
    }

    /// Tier names, nearest first.
    package nonisolated var names: [String] { [TierConfiguration.localName] + tiers.map(\.name) }

    /// A snapshot and the tier it is read from.
    package struct Located: Sendable {
        package var tier: String
        package var repository: Repository
        package var snapshot: Snapshot
    }

    /// Finds the snapshot `selector` names on `tier`, or without one on the nearest tier that
    /// holds it and can be read (a tier that cannot be opened is skipped and logged).
    /// - Throws: `.invalidArgument` for an unknown tier; the nearest tier's resolution error
    ///   when no tier holds it.
    package func locate(_ selector: SnapshotSelector, tier: String?) async throws -> Located {
        if let tier {
            guard names.contains(tier) else {
                throw RepositoryError(
                    .invalidArgument,
                    "no tier named '\(tier)'; tiers: \(names.joined(separator: ", "))")
            }
            let repository = try await repository(tier)
            let snapshots = try await repository.loadSnapshots().snapshots
            return Located(
                tier: tier, repository: repository, snapshot: try selector.resolve(in: snapshots))
        }
        var firstError: (any Error)?
        for name in names {
            do {
                let repository = try await repository(name)
                let snapshots = try await repository.loadSnapshots().snapshots
                return Located(
                    tier: name, repository: repository,
                    snapshot: try selector.resolve(in: snapshots))
            } catch {
                if firstError == nil { firstError = error }
                if !(error is RepositoryError) {
                    logger.warning(
                        "tier skipped for restore",
                        metadata: ["tier": "\(name)", "error": "\(error)"])
                }
            }
        }
        throw firstError ?? RepositoryError(.snapshotNotFound, "no tier holds \(selector)")
    }

    /// Restores a located snapshot, falling back to the other tiers chunk by chunk (their
    /// indexes are loaded only when a chunk is needed from them).
    package nonisolated func restore(
        _ located: Located, to sink: ([UInt8]) async throws -> Void
    ) async throws {
        let index = try await located.repository.loadIndex().index
        let others = Fallback(tiers: self, names: names.filter { $0 != located.tier })
        try await located.repository.restore(
            located.snapshot, index: index, fallback: { id in await others.chunk(id) }, to: sink)
    }

    /// The other tiers of one restore, with their indexes once loaded.
    private actor Fallback {
        let tiers: TierSet
        let names: [String]
        var indexes: [String: RepositoryIndex] = [:]

        init(tiers: TierSet, names: [String]) { (self.tiers, self.names) = (tiers, names) }

        func chunk(_ id: ChunkID) async -> [UInt8]? {
            for name in names {
                guard let repository = try? await tiers.repository(name) else { continue }
                if indexes[name] == nil {
                    indexes[name] = try? await repository.loadIndex().index
                }
                guard let index = indexes[name] else { continue }
                if let bytes = await repository.readChunkIfIntact(id, index: index) {
                    return bytes
                }
            }
            return nil
        }
    }

    func repository(_ name: String) async throws -> Repository {
        if name == TierConfiguration.localName { return primary }
        if let open = repositories[name] { return open }
        guard let tier = tiers.first(where: { $0.name == name }) else {
            throw RepositoryError(.invalidArgument, "no tier named '\(name)'")
        }
        let store = try Replicator.store(for: tier, logger: logger)
        let repository = try await primary.tier(on: store, creating: false)
        repositories[name] = repository
        return repository
    }
}

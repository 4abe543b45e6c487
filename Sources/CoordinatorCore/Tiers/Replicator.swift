import Catalog
import Foundation
package import Logging
package import RepositoryCore

/// What one sync did on one tier.
package struct TierSyncReport: Sendable {
    package var tier: String
    package var copy = CopyReport()
    /// Snapshots forgotten on the tier by its retention.
    package var forgotten = 0
    package var prune: PruneReport?
    /// Snapshots the tier holds afterwards.
    package var held = 0
    /// Why the tier could not be synced; the other tiers went on.
    package var failure: String?
}

/// Copies tier 1's snapshots to the other tiers and applies each tier's retention
/// (DESIGN, "Replicator"). Each tier is a repository with tier 1's key on its own store.
package struct Replicator: Sendable {
    package let primary: Repository
    package let tiers: [TierConfiguration]
    package let policies: PolicyConfiguration
    package let catalogPath: String?
    package let health: TierHealth?
    package let logger: Logger

    package init(
        primary: Repository, tiers: [TierConfiguration], policies: PolicyConfiguration,
        catalogPath: String?, health: TierHealth? = nil, logger: Logger
    ) {
        (self.primary, self.tiers, self.policies) = (primary, tiers, policies)
        (self.catalogPath, self.health, self.logger) = (catalogPath, health, logger)
    }

    /// Checks every tier once (at start-up), recording and logging what is wrong; tier 1
    /// is not affected by a broken tier.
    package func checkAll() async {
        for tier in tiers {
            do {
                try await Self.checkAccess(try Self.store(for: tier, logger: logger))
                health?.record(tier.name, error: nil)
            } catch {
                health?.record(tier.name, error: "\(error)")
                logger.error(
                    "tier unavailable; backups still land on tier 1",
                    metadata: ["tier": "\(tier.name)", "error": "\(error)"])
            }
        }
    }

    /// The store of a tier, with retries of transient failures.
    package static func store(for tier: TierConfiguration, logger: Logger) throws -> any BlobStore {
        switch tier.backend {
        case .s3(let settings, let secretKeyFile, let sessionTokenFile):
            var configuration = settings
            configuration.credentials.secretAccessKey = try TierConfiguration.secret(secretKeyFile)
            configuration.credentials.sessionToken = try sessionTokenFile.map(
                TierConfiguration.secret)
            return RetryingBlobStore(
                try S3BlobStore(configuration: configuration, name: tier.name), logger: logger)
        case .rclone(let remote, let configFile, let flags):
            return RetryingBlobStore(
                RcloneBlobStore(
                    remote: remote, configFile: configFile, extraFlags: flags, name: tier.name),
                // The rclone store retries transient failures itself; one more round here
                // only adds the check that a retried put landed.
                policy: .init(attempts: 2), logger: logger)
        }
    }

    /// Checks that a tier's store answers, with an error naming what is wrong (credentials,
    /// bucket, region, rclone remote); transient failures are retried like any request.
    package static func checkAccess(_ store: any BlobStore) async throws {
        _ = try await store.list(.config)
    }

    /// Syncs every tier, or only `only`. A failing tier is reported, not thrown, so one
    /// unreachable tier does not hold up the others.
    /// - Throws: `.invalidArgument` when `only` names no configured tier.
    package func sync(
        only: String? = nil,
        progress: @escaping @Sendable (String, CopyReport) -> Void = { _, _ in }
    ) async throws -> [TierSyncReport] {
        let chosen = tiers.filter { only == nil || $0.name == only }
        if let only, chosen.isEmpty {
            throw RepositoryError(
                .invalidArgument,
                "no tier named '\(only)'; configured: "
                    + (tiers.isEmpty ? "none" : tiers.map(\.name).joined(separator: ", ")))
        }
        var reports: [TierSyncReport] = []
        for tier in chosen {
            var report = TierSyncReport(tier: tier.name)
            do {
                try await sync(tier, into: &report, progress: progress)
                health?.record(tier.name, error: nil, synced: true)
            } catch {
                report.failure = "\(error)"
                health?.record(tier.name, error: "\(error)")
                logger.error(
                    "tier sync failed", metadata: ["tier": "\(tier.name)", "error": "\(error)"])
            }
            reports.append(report)
        }
        return reports
    }

    private func sync(
        _ tier: TierConfiguration, into report: inout TierSyncReport,
        progress: @escaping @Sendable (String, CopyReport) -> Void
    ) async throws {
        let store = try Self.store(for: tier, logger: logger)
        try await Self.checkAccess(store)
        let target = try await primary.tier(on: store, creating: true)
        let (ours, unreadable) = try await primary.loadSnapshots()
        if let first = unreadable.first {
            logger.warning(
                "snapshot left out of sync",
                metadata: ["object": "\(first.name)", "error": "\(first.error)"])
        }
        let theirs = try await target.loadSnapshots().snapshots
        let held = Set(theirs.map(\.id))
        let missing = ours.filter { !held.contains($0.id) }
        // Copy only what the tier would keep, or a short-lived tier would get old snapshots
        // back on every sync.
        let wanted = Set(
            policies.retention(for: theirs + missing, tier: tier.retention)
                .flatMap { $0.plan.keptSnapshots.map(\.id) })
        let selection = missing.filter { wanted.contains($0.id.description) }.map(\.id)
        report.copy = try await primary.copySnapshots(selection, to: target) { copy in
            progress(tier.name, copy)
        }
        report.copy.snapshotsPresent = ours.count - missing.count
        // The tier's list is known now without reading its snapshot objects again (on a
        // remote tier each is a request): what it held plus what was copied.
        let copied = Set(report.copy.snapshotsCopied)
        let now = theirs + missing.filter { copied.contains($0.id) }
        let plans = policies.retention(for: now, tier: tier.retention)
        report.forgotten = try await target.apply(plans)
        if report.forgotten > 0 {
            report.prune = try await target.prune()
        }
        let forgotten = Set(plans.flatMap { $0.plan.forget.map(\.id) })
        let final = now.filter { !forgotten.contains($0.id.description) }
        report.held = final.count
        if let catalogPath {
            let catalog = try Catalog.open(at: catalogPath)
            try catalog.replaceSnapshots(
                tier: tier.name, with: final.map { CatalogSnapshot($0, tier: tier.name) })
        }
        logger.info(
            "tier synced",
            metadata: [
                "tier": "\(tier.name)", "snapshots.copied": "\(report.copy.snapshotsCopied.count)",
                "packs.copied": "\(report.copy.packsCopied)",
                "bytes.copied": "\(report.copy.bytesCopied)", "forgotten": "\(report.forgotten)",
            ])
    }
}

extension CatalogSnapshot {
    /// The catalog's entry for a snapshot held by `tier`.
    package init(_ snapshot: Snapshot, tier: String) {
        self.init(
            id: snapshot.id.description, tier: tier, agent: snapshot.agent,
            component: snapshot.component, kind: snapshot.kind, startTime: snapshot.startTime,
            endTime: snapshot.endTime, size: Int64(snapshot.size),
            bytesAdded: Int64(snapshot.bytesAdded), tags: snapshot.tags)
    }
}

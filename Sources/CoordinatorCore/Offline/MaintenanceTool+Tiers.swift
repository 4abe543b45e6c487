import Catalog
import Foundation
package import RepositoryCore

extension MaintenanceTool {
    /// `sync [--tier NAME]`: copies new snapshots to the tiers and applies their retention.
    /// - Throws: when any tier failed (after trying all of them), naming each.
    package func sync(tier: String?, json: Bool) async throws -> String {
        let primary = try await openRepository()
        let replicator = Replicator(
            primary: primary, tiers: configuration.tiers, policies: configuration.policies,
            catalogPath: FileManager.default.fileExists(atPath: configuration.catalog)
                ? configuration.catalog : nil,
            logger: logger)
        let line = ProgressLine()
        let reports = try await replicator.sync(only: tier) { name, copy in
            line.update { elapsed in
                "\(name): \(copy.packsCopied + copy.packsResumed)/\(copy.packsPlanned) packs, "
                    + "\(Format.bytes(copy.bytesCopied)) of \(Format.bytes(copy.bytesPlanned)) "
                    + "in \(Int(elapsed)) s"
            }
        }
        line.finish()
        var text = ""
        if json {
            text =
                try OfflineTool.json(
                    .array(
                        reports.map { report in
                            .object([
                                "tier": .string(report.tier),
                                "snapshots_copied": .int(report.copy.snapshotsCopied.count),
                                "snapshots_present": .int(report.copy.snapshotsPresent),
                                "packs_copied": .int(report.copy.packsCopied),
                                "packs_resumed": .int(report.copy.packsResumed),
                                "bytes_copied": .int(report.copy.bytesCopied),
                                "forgotten": .int(report.forgotten),
                                "snapshots_held": .int(report.held),
                                "error": report.failure.map { .string($0) } ?? .null,
                            ])
                        })) + "\n"
        } else {
            for report in reports {
                if let failure = report.failure {
                    text += "\(report.tier): FAILED: \(failure)\n"
                    continue
                }
                text +=
                    "\(report.tier): \(report.copy.snapshotsCopied.count) snapshot(s) copied, "
                    + "\(report.copy.packsCopied) pack(s) (\(Format.bytes(report.copy.bytesCopied))) "
                    + "sent, \(report.copy.packsResumed) resumed, \(report.forgotten) forgotten, "
                    + "\(report.held) held\n"
            }
        }
        let failed = reports.filter { $0.failure != nil }.map(\.tier)
        if !failed.isEmpty {
            emitBeforeFailure(text)
            throw OfflineError("sync failed for tier(s): \(failed.joined(separator: ", "))")
        }
        return text
    }

    /// `recover --tier NAME [--key-file FILE]`: rebuilds tier 1 and the catalog from another
    /// tier alone, on a host that has only the configuration, the tier's access settings and
    /// the password (and the key envelope when the tier's key objects are lost).
    package func recover(tier name: String, keyFile: String? = nil) async throws -> String {
        guard let tier = configuration.tiers.first(where: { $0.name == name }) else {
            throw OfflineError(
                "no tier named '\(name)' in the configuration; configured: "
                    + configuration.tiers.map(\.name).joined(separator: ", "))
        }
        let password = try OfflineTool.readPassword(file: configuration.passwordFile)
        let store = try Replicator.store(for: tier, logger: logger)
        try await Replicator.checkAccess(store)
        if configuration.localBackend == nil {
            try FileManager.default.createDirectory(
                atPath: configuration.repository, withIntermediateDirectories: true,
                attributes: [.posixPermissions: 0o700])
        }
        let localStore = try configuration.primaryStore(logger: logger)
        let source: Repository
        let local: Repository
        if let keyFile {
            // The tier's own key objects may be gone: the envelope opens tier 1 first, and
            // the tier gets its config and key slot back from it.
            guard let bytes = FileManager.default.contents(atPath: keyFile) else {
                throw OfflineError("cannot read key file \(keyFile)")
            }
            try await Repository.install(try KeyEnvelope(decoding: Array(bytes)), into: localStore)
            local = try await Repository.open(store: localStore, password: password, logger: logger)
            source = try await local.tier(on: store, creating: true)
        } else {
            do {
                source = try await Repository.open(store: store, password: password, logger: logger)
            } catch let error as RepositoryError where error.code == .malformed {
                throw OfflineError(
                    "tier \(name) cannot be opened (\(error.message)); if its key objects are "
                        + "lost, pass the key envelope from `key export` with --key-file")
            }
            local = try await source.tier(on: localStore, creating: true)
        }
        let line = ProgressLine()
        let report = try await source.copySnapshots(nil, to: local) { copy in
            line.update { elapsed in
                "recovering from \(name): \(copy.packsCopied + copy.packsResumed)/\(copy.packsPlanned) packs, "
                    + "\(Format.bytes(copy.bytesCopied)) in \(Int(elapsed)) s"
            }
        }
        line.finish()
        let check = try await local.check()
        guard check.isHealthy else {
            throw OfflineError(
                "the recovered repository has problems: "
                    + check.problems.prefix(5).map(\.description).joined(separator: "; "))
        }
        var text =
            "recovered \(report.snapshotsCopied.count) snapshot(s) from tier \(name) "
            + "(\(report.packsCopied) pack(s), \(Format.bytes(report.bytesCopied)); "
            + "\(report.snapshotsPresent) were already here) into \(configuration.primaryDescription)\n"
        text += try await rebuildCatalog()
        let catalog = try Catalog.open(at: configuration.catalog)
        try catalog.replaceSnapshots(
            tier: name,
            with: try await source.loadSnapshots().snapshots.map { CatalogSnapshot($0, tier: name) }
        )
        return text
    }

    /// `key export`: the key envelope of the slot the configured password opens.
    package func exportKey() async throws -> [UInt8] {
        let password = try OfflineTool.readPassword(file: configuration.passwordFile)
        return try await openRepository().exportKey(password: password).encoded()
    }

    private func emitBeforeFailure(_ text: String) {
        FileHandle.standardOutput.write(Data(text.utf8))
    }
}

extension MaintenanceTool {
    /// `check [--read-data | --read-data-subset P] [--repair]`: checks tier 1 (or `tier`);
    /// with `repair`, replaces what is damaged with intact copies from the other tiers and
    /// checks again.
    /// - Returns: the report text and whether the repository is healthy at the end.
    package func check(
        reading: DataReading, repair: Bool, tier name: String?
    ) async throws
        -> (text: String, healthy: Bool)
    {
        let primary = try await openRepository()
        let target = name ?? TierConfiguration.localName
        // Other tiers are opened only when needed: the one checked, or all for a repair.
        func open(_ tier: TierConfiguration) async throws -> Repository {
            try await primary.tier(
                on: try Replicator.store(for: tier, logger: logger), creating: false)
        }
        let repository: Repository
        if target == TierConfiguration.localName {
            repository = primary
        } else if let tier = configuration.tiers.first(where: { $0.name == target }) {
            do {
                repository = try await open(tier)
            } catch {
                throw OfflineError("tier \(target) cannot be opened: \(error)")
            }
        } else {
            throw OfflineError(
                "no tier named '\(target)'; tiers: "
                    + ([TierConfiguration.localName] + configuration.tiers.map(\.name))
                    .joined(separator: ", "))
        }
        let line = ProgressLine()
        let progress: @Sendable (CheckProgress) -> Void = { progress in
            line.update { _ in
                "checking \(target): \(progress.packsRead)/\(progress.packsToRead) packs"
            }
        }
        var report = try await repository.check(reading: reading, progress: progress)
        line.finish()
        var text = "\(target): " + Self.summary(report)
        guard repair, !report.isHealthy else { return (text, report.isHealthy) }
        let objects = Repository.repairableObjects(in: report)
        var sources = target == TierConfiguration.localName ? [] : [primary]
        for tier in configuration.tiers where tier.name != target {
            if let opened = try? await open(tier) { sources.append(opened) }
        }
        let repaired = try await repository.repair(objects, from: sources)
        for item in repaired.replaced {
            text += "repaired \(item.object) from tier \(item.from)\n"
        }
        for object in repaired.unrepairable {
            text += "cannot repair \(object): no tier holds an intact copy\n"
        }
        report = try await repository.check(reading: reading, progress: progress)
        line.finish()
        text += "after repair, \(target): " + Self.summary(report)
        return (text, report.isHealthy)
    }

    private static func summary(_ report: CheckReport) -> String {
        var text =
            report.isHealthy
            ? "no problems in \(report.snapshotCount) snapshot(s), \(report.packCount) pack(s) "
                + "(\(report.packsRead) read)\n"
            : "\(report.problems.count) problem(s):\n"
        for problem in report.problems { text += "  \(problem)\n" }
        if !report.affectedSnapshots.isEmpty {
            text +=
                "  affected snapshots: "
                + report.affectedSnapshots.map(\.shortDescription).joined(separator: ", ") + "\n"
        }
        return text
    }
}

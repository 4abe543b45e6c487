import Catalog
import Foundation
package import Logging
import RepositoryCore

/// Commands that act on the coordinator's repository and catalog as its configuration names
/// them (`forget`, `jobs`, `catalog rebuild`); they work with or without `serve` running.
package struct MaintenanceTool: Sendable {
    package var configuration: CoordinatorConfiguration
    package var logger: Logger

    package init(configuration: CoordinatorConfiguration, logger: Logger) {
        (self.configuration, self.logger) = (configuration, logger)
    }

    func openRepository() async throws -> Repository {
        let password = try OfflineTool.readPassword(file: configuration.passwordFile)
        guard configuration.localBackend != nil else {
            return try await OfflineTool(logger: logger).open(
                configuration.repository, password: password)
        }
        return try await Repository.open(
            store: try configuration.primaryStore(logger: logger), password: password,
            logger: logger)
    }

    /// `forget [--dry-run]`: applies each component's retention policy, printing the plan
    /// with the reasons every kept snapshot is kept.
    package func forget(
        dryRun: Bool, component: ComponentKey?, json: Bool
    ) async throws -> String {
        let repository = try await openRepository()
        let (snapshots, unreadable) = try await repository.loadSnapshots()
        if let failure = unreadable.first {
            throw OfflineError(
                "snapshot \(failure.name.name) cannot be read (\(failure.error)); run repo check first"
            )
        }
        let plans = configuration.policies.retention(
            for: snapshots, tier: configuration.localRetention, only: component)
        if let component, plans.isEmpty {
            throw OfflineError("\(component) has no snapshots")
        }
        let forgotten = dryRun ? 0 : try await repository.apply(plans)
        if json {
            return try OfflineTool.json(
                .object([
                    "dry_run": .bool(dryRun), "forgotten": .int(forgotten),
                    "components": .array(plans.map(Self.jsonValue)),
                ]))
        }
        let zone = configuration.policies.timeZone
        var text = ""
        for plan in plans {
            text +=
                "\(plan.key) (\(plan.kind)): keep \(plan.plan.keep.count), forget \(plan.plan.forget.count)"
                + " [\(plan.policy)]\n"
            var rows: [[String]] = []
            for kept in plan.plan.keep {
                rows.append([
                    "  keep", String(kept.snapshot.id.prefix(8)),
                    OfflineTool.localTime(kept.snapshot.time, in: zone),
                    kept.reasons.map(\.description).joined(separator: ", "),
                ])
            }
            for candidate in plan.plan.forget {
                rows.append([
                    "  forget", String(candidate.id.prefix(8)),
                    OfflineTool.localTime(candidate.time, in: zone), "",
                ])
            }
            text += OfflineTool.table(rows)
        }
        let total = plans.reduce(0) { $0 + $1.plan.forget.count }
        text +=
            dryRun
            ? "dry run: would forget \(total) snapshot(s); nothing was changed\n"
            : "forgot \(forgotten) snapshot(s); their data is freed by the next prune\n"
        return text
    }

    static func jsonValue(_ plan: ComponentRetention) -> JSONValue {
        .object([
            "agent": .string(plan.key.agent), "component": .string(plan.key.component),
            "kind": .string(plan.kind), "policy": .string(plan.policy.description),
            "keep": .array(
                plan.plan.keep.map { kept in
                    .object([
                        "id": .string(kept.snapshot.id),
                        "time": .string(Timestamp.format(kept.snapshot.time)),
                        "reasons": .array(kept.reasons.map { .string($0.description) }),
                    ])
                }),
            "forget": .array(
                plan.plan.forget.map {
                    .object(["id": .string($0.id), "time": .string(Timestamp.format($0.time))])
                }),
        ])
    }

    /// `jobs [--failed] [--since DURATION] [--json]`: the job history, newest first.
    package func jobs(failedOnly: Bool, since: Duration?, limit: Int?, json: Bool) throws -> String
    {
        guard FileManager.default.fileExists(atPath: configuration.catalog) else {
            throw OfflineError(
                "no catalog at \(configuration.catalog): it is created when serve starts")
        }
        let catalog = try Catalog.open(at: configuration.catalog)
        let jobs = try catalog.jobs(
            filter: JobFilter(
                onlyFailed: failedOnly, since: since.map { Date() - $0.timeInterval }, limit: limit)
        )
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
            encoder.dateEncodingStrategy = .iso8601
            encoder.keyEncodingStrategy = .convertToSnakeCase
            return String(decoding: try encoder.encode(jobs), as: UTF8.self) + "\n"
        }
        guard !jobs.isEmpty else { return "no jobs\n" }
        let zone = configuration.policies.timeZone
        var rows = [
            [
                "ID", "KIND", "TRIGGER", "COMPONENT", "STATE", "SCHEDULED", "TOOK", "READ", "ADDED",
                "ERROR",
            ]
        ]
        for job in jobs {
            let took = job.startedAt.flatMap { start in
                job.endedAt.map { String(format: "%.0fs", $0.timeIntervalSince(start)) }
            }
            rows.append([
                "\(job.id.rawValue)", job.kind.rawValue, job.trigger.rawValue,
                "\(job.agent)/\(job.component)", job.state.rawValue,
                OfflineTool.localTime(job.scheduledFor, in: zone), took ?? "-",
                Format.bytes(Int(job.bytesRead)), Format.bytes(Int(job.bytesAdded)),
                job.error ?? "",
            ])
        }
        return OfflineTool.table(rows)
    }

    /// `catalog rebuild`: refills the snapshot cache, agents and components from the
    /// repository. Job history is not in the repository and stays as it is.
    package func rebuildCatalog() async throws -> String {
        let repository = try await openRepository()
        let (snapshots, unreadable) = try await repository.loadSnapshots()
        let catalog = try Catalog.open(at: configuration.catalog)
        var components: [ComponentKey: (kind: String, seen: Date)] = [:]
        for snapshot in snapshots {
            let key = ComponentKey(agent: snapshot.agent, component: snapshot.component)
            if components[key].map({ $0.seen < snapshot.endTime }) ?? true {
                components[key] = (snapshot.kind, snapshot.endTime)
            }
        }
        for (key, value) in components.sorted(by: { $0.key < $1.key }) {
            try catalog.recordAgent(name: key.agent, seenAt: value.seen)
            try catalog.upsertComponent(agent: key.agent, name: key.component, kind: value.kind)
        }
        try catalog.replaceSnapshots(
            tier: "local",
            with: snapshots.map { CatalogSnapshot($0, tier: TierConfiguration.localName) })
        var text =
            "catalog \(configuration.catalog): \(snapshots.count) snapshot(s) of \(components.count) component(s) cached\n"
        for failure in unreadable {
            text += "warning: \(failure.name) left out: \(failure.error)\n"
        }
        return text
    }
}

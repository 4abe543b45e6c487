package import Catalog
import Foundation
package import Logging
package import RepositoryCore
import ServiceLifecycle

/// Runs the ``ScheduleBook``'s decisions: starts backups on agents through the session hub,
/// applies each component's retention after a backup, runs prune on its schedule, and
/// records every job in the catalog. Thin by design: every decision is the book's.
package struct BackupScheduler: Service {
    let policies: PolicyConfiguration
    let hub: SessionHub
    let directory: AgentDirectory
    let catalog: Catalog
    let repository: Repository
    /// Copies new snapshots to the other tiers; nil without tiers.
    let replicator: Replicator?
    /// Tier 1's limit on top of each component's policy.
    let localRetention: TierRetention
    let logger: Logger
    /// How often the book is advanced; fire times are minutes apart, so a second is plenty.
    let tick: Duration

    package init(
        policies: PolicyConfiguration, hub: SessionHub, directory: AgentDirectory,
        catalog: Catalog, repository: Repository, replicator: Replicator? = nil,
        localRetention: TierRetention = .defaults(for: TierConfiguration.localName),
        logger: Logger, tick: Duration = .seconds(1)
    ) {
        (self.policies, self.hub, self.directory, self.catalog) = (
            policies, hub, directory, catalog
        )
        (self.repository, self.replicator, self.logger, self.tick) = (
            repository, replicator, logger, tick
        )
        self.localRetention = localRetention
    }

    /// The book and what the catalog calls its jobs, behind one actor.
    private actor State {
        var book: ScheduleBook
        var catalogIDs: [Int: JobID] = [:]
        /// Session-hub job IDs of running scheduled jobs, to cancel them at their deadline.
        var hubIDs: [Int: String] = [:]
        var recordedAgents = Set<String>()
        var deferred: [ScheduleBook.Action] = []

        init(limits: ConcurrencyLimits) { book = ScheduleBook(limits: limits) }

        func add(_ schedule: ComponentSchedule, now: Date, last: Date?) -> [ScheduleBook.Action] {
            book.add(schedule, now: now, lastScheduled: last)
        }
        func advance(_ now: Date, connected: Set<String>) -> [ScheduleBook.Action] {
            defer { deferred = [] }
            return deferred + book.advance(to: now, isConnected: { connected.contains($0) })
        }
        func finish(_ id: Int, succeeded: Bool) {
            deferred += book.finish(id, succeeded: succeeded, at: Date())
        }
        func isScheduled(_ key: ComponentKey) -> Bool { book.isScheduled(key) }
        func remove(_ key: ComponentKey) -> [ScheduleBook.Job] { book.remove(key) }
        func setCatalogID(_ id: JobID, for job: Int) { catalogIDs[job] = id }
        func setHubID(_ id: String?, for job: Int) { hubIDs[job] = id }
        func hubID(_ job: Int) -> String? { hubIDs[job] }
        func catalogID(_ job: Int) -> JobID? { catalogIDs[job] }
        func markRecorded(_ agent: String) -> Bool { recordedAgents.insert(agent).inserted }

        private var syncRunning = false
        private var syncAgain = false
        /// Whether the caller should run a sync now (none is running).
        func beginSync() -> Bool {
            if syncRunning {
                syncAgain = true
                return false
            }
            syncRunning = true
            return true
        }
        /// Whether the caller should run once more (a sync was asked for meanwhile).
        func endSync() -> Bool {
            if syncAgain {
                syncAgain = false
                return true
            }
            syncRunning = false
            return false
        }
    }

    package func run() async throws {
        let interrupted = try catalog.markInterruptedJobs(at: Date())
        if interrupted > 0 {
            logger.info("jobs interrupted by the last stop", metadata: ["jobs": "\(interrupted)"])
        }
        do {
            // Stop planning at shutdown; running jobs end with the sessions.
            try await cancelWhenGracefulShutdown { try await loop() }
        } catch is CancellationError {
            return
        }
    }

    private func loop() async throws {
        let state = State(limits: policies.limits)
        var nextPrune = policies.pruneSchedule.nextFire(after: Date(), in: policies.timeZone)
        var nextSync = policies.syncSchedule.nextFire(after: Date(), in: policies.timeZone)
        var syncedBackups = 0
        try await withThrowingDiscardingTaskGroup { group in
            while !Task.isCancelled {
                let now = Date()
                var actions: [ScheduleBook.Action] = []
                for record in directory.all where record.revoked {
                    for component in record.components {
                        let key = ComponentKey(agent: record.name, component: component.name)
                        for job in await state.remove(key) {
                            if let id = await state.catalogID(job.id) {
                                try? catalog.finishJob(
                                    id, as: .failed, at: now,
                                    error: "agent \(record.name) was revoked")
                            }
                        }
                    }
                }
                for record in directory.all where !record.revoked {
                    if await state.markRecorded(record.name) {
                        try catalog.recordAgent(name: record.name, seenAt: now)
                    }
                    for component in record.components {
                        let key = ComponentKey(agent: record.name, component: component.name)
                        // The configuration is fixed while serving: a scheduled component
                        // stays as it is; only newly announced ones are added.
                        guard await !state.isScheduled(key),
                            let schedule = policies.schedule(for: key, kind: component.kind)
                        else { continue }
                        try catalog.upsertComponent(
                            agent: record.name, name: component.name, kind: component.kind)
                        let last = try catalog.lastJob(
                            agent: record.name, component: component.name, kind: .backup)
                        actions += await state.add(schedule, now: now, last: last?.scheduledFor)
                    }
                }
                actions += await state.advance(now, connected: await hub.connectedAgents)
                for action in actions {
                    try await handle(action, state: state, group: &group)
                }
                if let due = nextPrune, due <= now {
                    nextPrune = policies.pruneSchedule.nextFire(after: now, in: policies.timeZone)
                    group.addTask { await self.prune(scheduledFor: due) }
                }
                // Every stored backup, scheduled or started by an admin, is copied on.
                let stored = await hub.storedBackups
                if policies.syncAfterBackup, stored > syncedBackups {
                    syncedBackups = stored
                    group.addTask { await self.sync(scheduledFor: now, state: state) }
                }
                if let due = nextSync, due <= now {
                    nextSync = policies.syncSchedule.nextFire(after: now, in: policies.timeZone)
                    group.addTask { await self.sync(scheduledFor: due, state: state) }
                }
                try await Task.sleep(for: tick)
            }
        }
    }

    private func handle(
        _ action: ScheduleBook.Action, state: State,
        group: inout ThrowingDiscardingTaskGroup<any Error>
    ) async throws {
        let now = Date()
        switch action {
        case .queue(let job):
            let id = try catalog.insertJob(
                agent: job.key.agent, component: job.key.component, kind: .backup,
                trigger: Self.trigger(job.trigger), scheduledFor: job.scheduledFor,
                attempt: job.attempt)
            await state.setCatalogID(id, for: job.id)
        case .start(let job):
            guard let id = await state.catalogID(job.id) else { return }
            try catalog.startJob(id, at: now)
            group.addTask {
                let succeeded = await self.backup(job, catalogID: id, state: state)
                await state.setHubID(nil, for: job.id)
                await state.finish(job.id, succeeded: succeeded)
            }
        case .skip(let key, let scheduledFor, let reason):
            let id = try catalog.insertJob(
                agent: key.agent, component: key.component, kind: .backup, trigger: .schedule,
                scheduledFor: scheduledFor)
            try catalog.finishJob(id, as: .skipped, at: now, error: reason)
            logger.info(
                "scheduled backup skipped",
                metadata: ["component": "\(key)", "reason": "\(reason)"])
        case .fail(let job, let reason), .cancel(let job, let reason):
            if let hubID = await state.hubID(job.id) { await hub.cancel(hubID, reason: reason) }
            if let id = await state.catalogID(job.id) {
                try? catalog.finishJob(id, as: .failed, at: now, error: reason)
            }
            logger.warning(
                "scheduled backup failed",
                metadata: ["component": "\(job.key)", "error": "\(reason)"])
        }
    }

    private static func trigger(_ trigger: ScheduleBook.Trigger) -> JobRecord.Trigger {
        switch trigger {
        case .schedule: .schedule
        case .catchup: .catchup
        case .retry: .retry
        case .manual: .manual
        }
    }

    /// Runs one backup on its agent to the end, records it, then applies retention.
    private func backup(_ job: ScheduleBook.Job, catalogID: JobID, state: State) async -> Bool {
        var logger = self.logger
        logger[metadataKey: "component"] = "\(job.key)"
        do {
            let started = try await hub.start(
                .backup, agent: job.key.agent, component: job.key.component)
            await state.setHubID(started.id, for: job.id)
            var last = started
            for await update in await hub.watch(started.id) { last = update }
            guard last.state == .succeeded else {
                try? catalog.finishJob(
                    catalogID, as: .failed, at: Date(), bytesRead: Int64(last.bytes),
                    error: last.error.isEmpty ? "the backup did not finish" : last.error)
                logger.warning("scheduled backup failed", metadata: ["error": "\(last.error)"])
                return false
            }
            guard let digest = Digest256(hex: last.snapshotCreated) else {
                throw CoordinatorError("the backup reported no valid snapshot ID")
            }
            let snapshot = try await repository.loadSnapshot(SnapshotID(digest))
            try? catalog.finishJob(
                catalogID, as: .succeeded, at: Date(), bytesRead: Int64(snapshot.size),
                bytesAdded: Int64(snapshot.bytesAdded), snapshotID: snapshot.id.description)
            try? catalog.upsertSnapshot(
                CatalogSnapshot(
                    id: snapshot.id.description, agent: snapshot.agent,
                    component: snapshot.component, kind: snapshot.kind,
                    startTime: snapshot.startTime, endTime: snapshot.endTime,
                    size: Int64(snapshot.size), bytesAdded: Int64(snapshot.bytesAdded),
                    tags: snapshot.tags))
            logger.info(
                "scheduled backup stored",
                metadata: [
                    "snapshot.id": "\(snapshot.id)", "bytes.added": "\(snapshot.bytesAdded)",
                ])
            await applyRetention(job.key)
            return true
        } catch {
            try? catalog.finishJob(catalogID, as: .failed, at: Date(), error: "\(error)")
            logger.warning("scheduled backup failed", metadata: ["error": "\(error)"])
            return false
        }
    }

    /// Forgets what the component's retention policy no longer keeps (a `forget` job).
    private func applyRetention(_ key: ComponentKey) async {
        let id = try? catalog.insertJob(
            agent: key.agent, component: key.component, kind: .forget, trigger: .schedule,
            scheduledFor: Date())
        if let id { try? catalog.startJob(id, at: Date()) }
        do {
            let (snapshots, _) = try await repository.loadSnapshots()
            let plans = policies.retention(for: snapshots, tier: localRetention, only: key)
            let forgotten = try await repository.apply(plans)
            _ = try? catalog.removeSnapshots(
                ids: plans.flatMap { $0.plan.forget.map(\.id) }, tier: "local")
            if let id { try? catalog.finishJob(id, as: .succeeded, at: Date()) }
            if forgotten > 0 {
                logger.info(
                    "retention applied",
                    metadata: ["component": "\(key)", "forgotten": "\(forgotten)"])
            }
        } catch {
            if let id { try? catalog.finishJob(id, as: .failed, at: Date(), error: "\(error)") }
            logger.warning(
                "retention failed", metadata: ["component": "\(key)", "error": "\(error)"])
        }
    }

    /// Copies new snapshots to every tier and applies their retention (a `sync` job). Syncs
    /// do not overlap: one asked for while another runs is folded into a single rerun.
    private func sync(scheduledFor: Date, state: State) async {
        guard let replicator, await state.beginSync() else { return }
        repeat {
            let agent = "coordinator"
            try? catalog.recordAgent(name: agent, seenAt: Date())
            let id = try? catalog.insertJob(
                agent: agent, component: "tiers", kind: .sync, trigger: .schedule,
                scheduledFor: scheduledFor)
            if let id { try? catalog.startJob(id, at: Date()) }
            do {
                let reports = try await replicator.sync()
                let failures = reports.compactMap { report in
                    report.failure.map { "\(report.tier): \($0)" }
                }
                let copied = reports.reduce(0) { $0 + $1.copy.bytesCopied }
                if let id {
                    try? catalog.finishJob(
                        id, as: failures.isEmpty ? .succeeded : .failed, at: Date(),
                        bytesAdded: Int64(copied),
                        error: failures.isEmpty ? nil : failures.joined(separator: "; "))
                }
            } catch {
                if let id { try? catalog.finishJob(id, as: .failed, at: Date(), error: "\(error)") }
                logger.warning("sync failed", metadata: ["error": "\(error)"])
            }
        } while await state.endSync()
    }

    /// Prune, beside running backups; waits up to 15 minutes for them to delete at once.
    private func prune(scheduledFor: Date) async {
        let agent = "coordinator"
        try? catalog.recordAgent(name: agent, seenAt: Date())
        let id = try? catalog.insertJob(
            agent: agent, component: "repository", kind: .prune, trigger: .schedule,
            scheduledFor: scheduledFor)
        if let id { try? catalog.startJob(id, at: Date()) }
        do {
            let report = try await repository.prune(
                repackThreshold: policies.repackThreshold, waitForWriters: .seconds(900))
            if let id {
                try? catalog.finishJob(
                    id, as: .succeeded, at: Date(), bytesAdded: Int64(report.packsWritten))
            }
            logger.info(
                "prune finished",
                metadata: [
                    "packs.deleted": "\(report.packsDeleted)",
                    "bytes.deleted": "\(report.bytesDeleted)",
                    "packs.waiting": "\(report.packsWaiting)",
                ])
        } catch {
            if let id { try? catalog.finishJob(id, as: .failed, at: Date(), error: "\(error)") }
            logger.warning("prune failed", metadata: ["error": "\(error)"])
        }
    }
}

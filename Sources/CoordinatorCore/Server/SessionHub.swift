package import Catalog
package import Foundation
package import Proto
import SwiftProtobuf

/// Connected agent sessions and the jobs pushed down them.
///
/// A job exists only because an admin (or, later, the scheduler) asked for it; uploads and
/// downloads are accepted only for a running job of the calling agent.
package actor SessionHub {
    package enum JobKind: String, Sendable { case backup, restore }

    package enum JobState: String, Sendable { case queued, running, succeeded, failed }

    package struct Job: Sendable {
        package var id: String
        package var kind: JobKind
        package var agent: String
        package var component: String
        package var snapshot: String
        /// The tier a restore reads from; empty for the nearest one holding the snapshot.
        package var tier: String = ""
        package var target: String
        package var overwrite: Bool
        package var state: JobState
        package var bytes: UInt64 = 0
        package var error: String = ""
        package var snapshotCreated: String = ""
        /// The agent's restore self-check summary.
        package var detail: String = ""
        package var dataStarted = false
    }

    private struct Session {
        var id: UUID
        var components: [String: String]
        var outbox: AsyncStream<Zentoria_V1_CoordinatorMessage>.Continuation
    }

    private var sessions: [String: Session] = [:]
    private var jobs: [String: Job] = [:]
    private var watchers: [String: [UUID: AsyncStream<Job>.Continuation]] = [:]
    /// Jobs this hub records in the catalog itself (manual ones), by hub job ID.
    private var recorded: [String: JobID] = [:]
    private let catalog: Catalog?

    /// - Parameter catalog: where jobs started with a `recordAs` trigger are recorded.
    package init(catalog: Catalog? = nil) { self.catalog = catalog }

    // MARK: Sessions

    /// Registers a session; an older session of the same agent is closed.
    /// - Returns: the session ID and the stream of messages to send down it.
    package func open(
        agent: String, components: [String: String]
    )
        -> (UUID, AsyncStream<Zentoria_V1_CoordinatorMessage>)
    {
        let (stream, continuation) = AsyncStream.makeStream(
            of: Zentoria_V1_CoordinatorMessage.self, bufferingPolicy: .bufferingOldest(256))
        let id = UUID()
        sessions[agent]?.outbox.finish()
        sessions[agent] = Session(id: id, components: components, outbox: continuation)
        return (id, stream)
    }

    /// Forgets a session; its jobs that were not finished fail.
    package func close(agent: String, session: UUID) {
        guard sessions[agent]?.id == session else { return }
        sessions.removeValue(forKey: agent)
        for (id, job) in jobs
        where job.agent == agent && (job.state == .running || job.state == .queued) {
            finish(id, success: false, error: "the agent disconnected")
        }
    }

    /// Ends an agent's session (revocation).
    /// - Returns: whether it was connected.
    package func disconnect(agent: String) -> Bool {
        guard let session = sessions.removeValue(forKey: agent) else { return false }
        session.outbox.finish()
        for (id, job) in jobs
        where job.agent == agent && (job.state == .running || job.state == .queued) {
            finish(id, success: false, error: "the agent was revoked")
        }
        return true
    }

    package var connectedAgents: Set<String> { Set(sessions.keys) }

    package func isConnected(_ agent: String) -> Bool { sessions[agent] != nil }

    // MARK: Jobs

    /// Starts a job on a connected agent for a component it announced.
    package func start(
        _ kind: JobKind, agent: String, component: String, snapshot: String = "",
        tier: String = "", target: String = "",
        overwrite: Bool = false, recordAs trigger: JobRecord.Trigger? = nil
    ) throws -> Job {
        guard let session = sessions[agent] else {
            throw CoordinatorError("agent \(agent) is not connected")
        }
        guard session.components[component] != nil else {
            throw CoordinatorError("agent \(agent) has no component \(component)")
        }
        if let busy = jobs.values.first(where: {
            $0.agent == agent && $0.component == component
                && ($0.state == .running || $0.state == .queued)
        }) {
            throw CoordinatorError("\(agent)/\(component) already runs job \(busy.id)")
        }
        let job = Job(
            id: UUID().uuidString.lowercased(), kind: kind, agent: agent, component: component,
            snapshot: snapshot, tier: tier,
            target: target, overwrite: overwrite, state: .running)
        jobs[job.id] = job
        if let catalog, let trigger {
            let now = Date()
            try? catalog.recordAgent(name: agent, seenAt: now)
            if let id = try? catalog.insertJob(
                agent: agent, component: component, kind: kind == .backup ? .backup : .restore,
                trigger: trigger, scheduledFor: now)
            {
                try? catalog.startJob(id, at: now)
                recorded[job.id] = id
            }
        }
        var message = Zentoria_V1_CoordinatorMessage()
        message.job = .with {
            $0.jobID = job.id
            $0.kind = kind == .backup ? .backup : .restore
            $0.component = component
            $0.snapshotID = snapshot
            $0.target = target
            $0.overwrite = overwrite
        }
        if case .dropped = session.outbox.yield(message) {
            finish(job.id, success: false, error: "the agent's session is congested")
        }
        notify(job.id)
        return job
    }

    /// A job of `agent`, if it is running and of `kind`.
    package func runningJob(_ id: String, agent: String, kind: JobKind) -> Job? {
        guard let job = jobs[id], job.agent == agent, job.kind == kind, job.state == .running else {
            return nil
        }
        return job
    }

    /// Marks that the job's data stream began; a second stream for it is refused.
    package func claimData(_ id: String) -> Bool {
        guard var job = jobs[id], !job.dataStarted else { return false }
        job.dataStarted = true
        jobs[id] = job
        return true
    }

    package func progress(_ id: String, agent: String, bytes: UInt64) {
        guard jobs[id]?.agent == agent else { return }
        jobs[id]?.bytes = bytes
        notify(id)
    }

    package func recordSnapshot(_ id: String, snapshot: String, bytes: UInt64) {
        jobs[id]?.snapshotCreated = snapshot
        jobs[id]?.bytes = bytes
    }

    /// The agent's final word on a job.
    package func report(
        _ id: String, agent: String, success: Bool, error: String, bytes: UInt64,
        detail: String = ""
    ) {
        guard let job = jobs[id], job.agent == agent, job.state == .running else { return }
        if bytes > 0 { jobs[id]?.bytes = bytes }
        jobs[id]?.detail = detail
        // A backup succeeds only if the coordinator stored its snapshot.
        let stored = job.kind != .backup || !job.snapshotCreated.isEmpty
        finish(
            id, success: success && stored,
            error: success && !stored ? "no snapshot was stored" : error)
    }

    package func job(_ id: String) -> Job? { jobs[id] }

    /// Fails a running job now (its deadline passed): its upload stops at the next message
    /// and stores nothing; the agent's later report is ignored.
    package func cancel(_ id: String, reason: String) {
        guard jobs[id]?.state == .running else { return }
        finish(id, success: false, error: reason)
    }

    package var runningCount: Int { jobs.values.filter { $0.state == .running }.count }

    /// Events of one job until it ends, starting with its current state.
    package func watch(_ id: String) -> AsyncStream<Job> {
        let (stream, continuation) = AsyncStream.makeStream(
            of: Job.self, bufferingPolicy: .bufferingNewest(16))
        guard let job = jobs[id] else {
            continuation.finish()
            return stream
        }
        continuation.yield(job)
        if job.state == .succeeded || job.state == .failed {
            continuation.finish()
        } else {
            watchers[id, default: [:]][UUID()] = continuation
        }
        return stream
    }

    /// How many backups (scheduled or manual) stored a snapshot since start: the scheduler
    /// syncs the tiers when it grows.
    package private(set) var storedBackups = 0

    private func finish(_ id: String, success: Bool, error: String) {
        jobs[id]?.state = success ? .succeeded : .failed
        if success, jobs[id]?.kind == .backup { storedBackups += 1 }
        if !success { jobs[id]?.error = error }
        if let catalogID = recorded.removeValue(forKey: id), let job = jobs[id] {
            try? catalog?.finishJob(
                catalogID, as: success ? .succeeded : .failed, at: Date(),
                bytesRead: Int64(job.bytes),
                snapshotID: job.snapshotCreated.isEmpty ? nil : job.snapshotCreated,
                error: success ? nil : error)
        }
        notify(id)
    }

    private func notify(_ id: String) {
        guard let job = jobs[id] else { return }
        for continuation in (watchers[id] ?? [:]).values { continuation.yield(job) }
        if job.state == .succeeded || job.state == .failed {
            for continuation in (watchers.removeValue(forKey: id) ?? [:]).values {
                continuation.finish()
            }
        }
    }
}

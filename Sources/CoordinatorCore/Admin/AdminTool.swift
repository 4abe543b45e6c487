import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2
import Proto
import RepositoryCore
import SwiftProtobuf

/// The admin commands (`status`, `agents`, `snapshots`, `token create`, `backup`, `restore`):
/// they talk to the running coordinator over its owner-only admin socket.
package struct AdminTool: Sendable {
    package let socket: String
    let progress: ProgressLine

    package init(socket: String, progress: ProgressLine = ProgressLine()) {
        (self.socket, self.progress) = (socket, progress)
    }

    private func withAdmin<T: Sendable>(
        _ body: @Sendable (Zentoria_V1_Admin.Client<HTTP2ClientTransport.Posix>) async throws -> T
    ) async throws -> T {
        guard FileManager.default.fileExists(atPath: socket) else {
            throw CoordinatorError("no coordinator is running (no admin socket at \(socket))")
        }
        do {
            return try await withGRPCClient(
                transport: try .http2NIOPosix(
                    target: .unixDomainSocket(path: socket), transportSecurity: .plaintext)
            ) { client in
                try await body(Zentoria_V1_Admin.Client(wrapping: client))
            }
        } catch let error as RPCError {
            throw CoordinatorError(error.message)
        }
    }

    package func status(json: Bool) async throws -> String {
        let status = try await withAdmin { try await $0.status(.init()) }
        if json {
            return try OfflineTool.json([
                "version": .string(status.coordinatorVersion),
                "repository_id": .string(status.repositoryID),
                "agents_connected": .int(Int(status.agentsConnected)),
                "agents_enrolled": .int(Int(status.agentsEnrolled)),
                "snapshots": .int(Int(status.snapshots)),
                "jobs_running": .int(Int(status.jobsRunning)),
                "ca_fingerprint": .string(status.caFingerprint),
                "listen": .string(status.listenAddress),
                "tiers": .array(
                    status.tiers.map { tier in
                        .object([
                            "name": .string(tier.name), "healthy": .bool(tier.healthy),
                            "error": tier.error.isEmpty ? .null : .string(tier.error),
                            "snapshots": .int(Int(tier.snapshots)),
                            "last_sync": tier.lastSyncUnixMillis == 0
                                ? .null
                                : .string(
                                    Timestamp.format(
                                        Date(
                                            timeIntervalSince1970: Double(tier.lastSyncUnixMillis)
                                                / 1000))),
                        ])
                    }),
            ])
        }
        let tierRows = status.tiers.map { tier in
            let synced =
                tier.lastSyncUnixMillis == 0
                ? "never synced"
                : "synced "
                    + OfflineTool.localTime(
                        Date(timeIntervalSince1970: Double(tier.lastSyncUnixMillis) / 1000))
            let state =
                tier.healthy
                ? "ok, \(tier.snapshots) snapshot(s)"
                    + (tier.name == "local" ? "" : ", \(synced)")
                : "UNAVAILABLE: \(tier.error)"
            return ["Tier \(tier.name)", state]
        }
        return OfflineTool.table(
            [
                ["Coordinator", status.coordinatorVersion],
                ["Listening", status.listenAddress],
                ["Repository", status.repositoryID],
                [
                    "Agents",
                    "\(status.agentsConnected) connected of \(status.agentsEnrolled) enrolled",
                ],
                ["Snapshots", "\(status.snapshots)"],
                ["Jobs running", "\(status.jobsRunning)"],
                ["CA fingerprint", status.caFingerprint],
            ] + tierRows)
    }

    package func createToken(agent: String, ttl: Int) async throws -> String {
        let response = try await withAdmin { client in
            try await client.createToken(
                .with {
                    $0.agentName = agent
                    $0.ttlSeconds = UInt32(ttl)
                })
        }
        return response.token + "\n"
    }

    package func agents(json: Bool) async throws -> String {
        let agents = try await withAdmin { try await $0.listAgents(.init()) }.agents
        if json {
            return try OfflineTool.json(
                .array(
                    agents.map { agent in
                        .object([
                            "name": .string(agent.name), "connected": .bool(agent.connected),
                            "revoked": .bool(agent.revoked),
                            "last_seen": agent.lastSeenUnix == 0
                                ? .null
                                : .string(
                                    Timestamp.format(
                                        Date(timeIntervalSince1970: Double(agent.lastSeenUnix)))),
                            "version": .string(agent.version),
                            "components": .array(
                                agent.components.map {
                                    .object(["name": .string($0.name), "kind": .string($0.kind)])
                                }),
                        ])
                    }))
        }
        var rows = [["Agent", "State", "Last seen", "Version", "Components"]]
        for agent in agents {
            let state = agent.revoked ? "revoked" : agent.connected ? "connected" : "offline"
            let seen =
                agent.lastSeenUnix == 0
                ? "-"
                : OfflineTool.localTime(Date(timeIntervalSince1970: Double(agent.lastSeenUnix)))
            rows.append([
                agent.name, state, seen, agent.version,
                agent.components.map { "\($0.name) (\($0.kind))" }.joined(separator: ", "),
            ])
        }
        return OfflineTool.table(rows)
    }

    package func revoke(agent: String) async throws -> String {
        let response = try await withAdmin {
            try await $0.revokeAgent(.with { $0.agentName = agent })
        }
        return "revoked \(agent)" + (response.wasConnected ? " and closed its session" : "") + "\n"
    }

    package func snapshots(agent: String?, component: String?, json: Bool) async throws -> String {
        let snapshots = try await withAdmin { client in
            try await client.listSnapshots(
                .with {
                    $0.agent = agent ?? ""
                    $0.component = component ?? ""
                })
        }.snapshots
        if json {
            return try OfflineTool.json(
                .array(
                    snapshots.map { snapshot in
                        .object([
                            "id": .string(snapshot.id), "agent": .string(snapshot.agent),
                            "component": .string(snapshot.component),
                            "kind": .string(snapshot.kind), "size": .int(Int(snapshot.size)),
                            "bytes_added": .int(Int(snapshot.bytesAdded)),
                            "tiers": .array(snapshot.tiers.map { .string($0) }),
                            "start_time": .string(
                                Timestamp.format(
                                    Date(
                                        timeIntervalSince1970: Double(snapshot.startUnixMillis)
                                            / 1000))),
                        ])
                    }))
        }
        var rows = [["ID", "Time", "Agent", "Component", "Kind", "Size", "Added", "Tiers"]]
        for snapshot in snapshots {
            rows.append([
                String(snapshot.id.prefix(8)),
                OfflineTool.localTime(
                    Date(timeIntervalSince1970: Double(snapshot.startUnixMillis) / 1000)),
                snapshot.agent,
                snapshot.component, snapshot.kind, Format.bytes(Int(snapshot.size)),
                Format.bytes(Int(snapshot.bytesAdded)), snapshot.tiers.joined(separator: ","),
            ])
        }
        return OfflineTool.table(rows) + "\(snapshots.count) snapshot(s)\n"
    }

    /// A backup or restore to start on an agent.
    package struct JobRequest: Sendable {
        var kind: String
        var agent: String
        var component: String
        var snapshot = ""
        var target = ""
        var overwrite = false
        var wait: Bool
        /// A restore's tier; empty for the nearest one holding the snapshot.
        var tier = ""

        package init(
            kind: String, agent: String, component: String, snapshot: String = "",
            target: String = "",
            overwrite: Bool = false, wait: Bool, tier: String = ""
        ) {
            (self.kind, self.agent, self.component, self.snapshot) = (
                kind, agent, component, snapshot
            )
            (self.target, self.overwrite, self.wait, self.tier) = (target, overwrite, wait, tier)
        }
    }

    /// Runs a backup or restore job; with `wait`, shows progress and returns its final state.
    package func runJob(_ job: JobRequest, json: Bool) async throws -> (String, Bool) {
        let request = Zentoria_V1_RunJobRequest.with {
            $0.kind = job.kind
            $0.agent = job.agent
            $0.component = job.component
            $0.snapshot = job.snapshot
            $0.target = job.target
            $0.overwrite = job.overwrite
            $0.wait = job.wait
            $0.tier = job.tier
        }
        let progress = self.progress
        let last = try await withAdmin { client in
            try await client.runJob(request) { response in
                var last: Zentoria_V1_JobEvent?
                for try await event in response.messages {
                    last = event
                    progress.update { elapsed in
                        "\(request.kind) \(request.agent)/\(request.component): \(event.state), \(Format.bytes(Int(event.bytes))), "
                            + Format.rate(Int(event.bytes), seconds: elapsed)
                    }
                }
                return last
            }
        }
        progress.finish()
        guard let last else { throw CoordinatorError("the coordinator sent no job state") }
        let succeeded = last.state == "succeeded" || (!request.wait && last.state != "failed")
        if json {
            return (
                try OfflineTool.json([
                    "job_id": .string(last.jobID), "state": .string(last.state),
                    "bytes": .int(Int(last.bytes)),
                    "error": last.error.isEmpty ? .null : .string(last.error),
                    "snapshot_id": last.snapshotID.isEmpty ? .null : .string(last.snapshotID),
                    "check": last.detail.isEmpty ? .null : .string(last.detail),
                ]), succeeded
            )
        }
        var text = "job \(last.jobID): \(last.state)"
        if !last.snapshotID.isEmpty { text += ", snapshot \(last.snapshotID)" }
        if last.bytes > 0 { text += ", \(Format.bytes(Int(last.bytes)))" }
        if !last.detail.isEmpty { text += "\nself-check: \(last.detail)" }
        if !last.error.isEmpty { text += "\nerror: \(last.error)" }
        return (text + "\n", succeeded)
    }

    /// Writes a snapshot's dump to `output` (atomically) through the coordinator.
    package func readSnapshot(
        _ selector: String, agent: String?, component: String?, tier: String? = nil, output: String
    ) async throws {
        let temporary = output + ".partial"
        guard
            FileManager.default.createFile(
                atPath: temporary, contents: nil, attributes: [.posixPermissions: 0o600]),
            let handle = FileHandle(forWritingAtPath: temporary)
        else { throw CoordinatorError("cannot create \(temporary)") }
        do {
            try await withAdmin { client in
                try await client.readSnapshot(
                    .with {
                        $0.snapshot = selector
                        $0.agent = agent ?? ""
                        $0.component = component ?? ""
                        $0.tier = tier ?? ""
                    }
                ) { response in
                    for try await message in response.messages {
                        try handle.write(contentsOf: message.data)
                    }
                }
            }
            try handle.synchronize()
            try handle.close()
            guard rename(temporary, output) == 0 else {
                throw CoordinatorError("cannot rename to \(output)")
            }
        } catch {
            try? handle.close()
            try? FileManager.default.removeItem(atPath: temporary)
            throw error
        }
    }
}

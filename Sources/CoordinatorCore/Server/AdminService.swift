package import Catalog
import Foundation
package import GRPCCore
package import Logging
package import Proto
package import RepositoryCore
import SwiftProtobuf
package import Transport

/// The admin API on the owner-only Unix socket.
package struct AdminService: Zentoria_V1_Admin.SimpleServiceProtocol {
    let repository: Repository
    let tiers: TierSet
    let health: TierHealth
    let catalog: Catalog
    let directory: AgentDirectory
    let tokens: TokenStore
    let hub: SessionHub
    let authority: CertificateAuthority
    let listen: HostPort
    let logger: Logger

    package init(
        repository: Repository, tiers: TierSet, health: TierHealth, catalog: Catalog,
        directory: AgentDirectory, tokens: TokenStore, hub: SessionHub,
        authority: CertificateAuthority, listen: HostPort, logger: Logger
    ) {
        (self.repository, self.tiers, self.health, self.catalog) = (
            repository, tiers, health, catalog
        )
        (self.directory, self.tokens, self.hub) = (directory, tokens, hub)
        (self.authority, self.listen, self.logger) = (authority, listen, logger)
    }

    package func status(
        request: Zentoria_V1_StatusRequest, context: ServerContext
    ) async throws -> Zentoria_V1_StatusResponse {
        let (snapshots, _) = try await repository.loadSnapshots()
        let connected = await hub.connectedAgents.count
        let running = await hub.runningCount
        return .with {
            $0.coordinatorVersion = CoordinatorVersion.current
            $0.repositoryID = repository.config.id
            $0.agentsConnected = UInt32(connected)
            $0.agentsEnrolled = UInt32(directory.all.filter { !$0.revoked }.count)
            $0.snapshots = UInt32(snapshots.count)
            $0.jobsRunning = UInt32(running)
            $0.caFingerprint = authority.fingerprint
            $0.listenAddress = listen.description
            $0.tiers = tiers.names.map { name in
                let entry = health.entry(name)
                let held =
                    name == TierConfiguration.localName
                    ? snapshots.count : ((try? catalog.snapshots(tier: name).count) ?? 0)
                return .with {
                    $0.name = name
                    $0.healthy = name == TierConfiguration.localName || entry?.error == nil
                    $0.error = entry?.error ?? ""
                    $0.snapshots = UInt32(held)
                    $0.lastSyncUnixMillis = Int64(
                        (entry?.lastSync?.timeIntervalSince1970 ?? 0) * 1000)
                }
            }
        }
    }

    package func createToken(
        request: Zentoria_V1_CreateTokenRequest, context: ServerContext
    ) async throws -> Zentoria_V1_CreateTokenResponse {
        guard AgentName.isValid(request.agentName) else {
            throw RPCError(code: .invalidArgument, message: AgentName.rule)
        }
        let ttl = request.ttlSeconds == 0 ? 3600 : TimeInterval(request.ttlSeconds)
        let (token, expires) = try tokens.create(agent: request.agentName, ttl: ttl)
        logger.info("enrollment token created", metadata: ["agent.id": "\(request.agentName)"])
        return .with {
            $0.token = token
            $0.expiresUnix = Int64(expires.timeIntervalSince1970)
        }
    }

    package func listAgents(
        request: Zentoria_V1_ListAgentsRequest, context: ServerContext
    ) async throws -> Zentoria_V1_ListAgentsResponse {
        let connected = await hub.connectedAgents
        return .with {
            $0.agents = directory.all.map { record in
                .with {
                    $0.name = record.name
                    $0.connected = connected.contains(record.name)
                    $0.revoked = record.revoked
                    $0.lastSeenUnix = Int64(record.lastSeen?.timeIntervalSince1970 ?? 0)
                    $0.version = record.version ?? ""
                    $0.certificateExpiresUnix = Int64(
                        record.certificateExpires?.timeIntervalSince1970 ?? 0)
                    $0.components = record.components.map { component in
                        .with {
                            $0.name = component.name
                            $0.kind = component.kind
                        }
                    }
                }
            }
        }
    }

    package func revokeAgent(
        request: Zentoria_V1_RevokeAgentRequest, context: ServerContext
    ) async throws -> Zentoria_V1_RevokeAgentResponse {
        guard try directory.revoke(agent: request.agentName) else {
            throw RPCError(code: .notFound, message: "no agent \(request.agentName) is enrolled")
        }
        let wasConnected = await hub.disconnect(agent: request.agentName)
        logger.info("agent revoked", metadata: ["agent.id": "\(request.agentName)"])
        return .with { $0.wasConnected = wasConnected }
    }

    package func listSnapshots(
        request: Zentoria_V1_ListSnapshotsRequest, context: ServerContext
    ) async throws -> Zentoria_V1_ListSnapshotsResponse {
        // Tier 1 from the repository itself; the other tiers as the catalog last saw them.
        let (snapshots, _) = try await repository.loadSnapshots()
        var entries = snapshots.map { CatalogSnapshot($0, tier: TierConfiguration.localName) }
        for name in tiers.names.dropFirst() {
            entries += (try? catalog.snapshots(tier: name)) ?? []
        }
        var byID: [String: (snapshot: CatalogSnapshot, tiers: [String])] = [:]
        for entry in entries
        where (request.agent.isEmpty || entry.agent == request.agent)
            && (request.component.isEmpty || entry.component == request.component)
        {
            byID[entry.id, default: (entry, [])].tiers.append(entry.tier)
        }
        let listed = byID.values.sorted {
            ($0.snapshot.startTime, $0.snapshot.id) < ($1.snapshot.startTime, $1.snapshot.id)
        }
        return .with {
            $0.snapshots = listed.map { item in
                let snapshot = item.snapshot
                return .with {
                    $0.id = snapshot.id
                    $0.agent = snapshot.agent
                    $0.component = snapshot.component
                    $0.kind = snapshot.kind
                    $0.startUnixMillis = Int64(snapshot.startTime.timeIntervalSince1970 * 1000)
                    $0.endUnixMillis = Int64(snapshot.endTime.timeIntervalSince1970 * 1000)
                    $0.size = UInt64(snapshot.size)
                    $0.bytesAdded = UInt64(snapshot.bytesAdded)
                    $0.tags = snapshot.tags
                    $0.tiers = item.tiers
                }
            }
        }
    }

    package func runJob(
        request: Zentoria_V1_RunJobRequest, response: RPCWriter<Zentoria_V1_JobEvent>,
        context: ServerContext
    ) async throws {
        let job: SessionHub.Job
        do {
            switch request.kind {
            case "backup":
                job = try await hub.start(
                    .backup, agent: request.agent, component: request.component,
                    recordAs: .manual)
            case "restore":
                let snapshot = try await tiers.locate(
                    SnapshotSelector(request.snapshot),
                    tier: request.tier.isEmpty ? nil : request.tier
                ).snapshot
                guard snapshot.agent == request.agent else {
                    throw CoordinatorError(
                        "snapshot \(snapshot.id.shortDescription) belongs to agent \(snapshot.agent), not \(request.agent)"
                    )
                }
                job = try await hub.start(
                    .restore, agent: request.agent, component: request.component,
                    snapshot: snapshot.id.description, tier: request.tier,
                    target: request.target, overwrite: request.overwrite, recordAs: .manual)
            default:
                throw CoordinatorError("unknown job kind '\(request.kind)'")
            }
        } catch let error as CoordinatorError {
            throw RPCError(code: .failedPrecondition, message: error.description)
        } catch let error as RepositoryError {
            throw RPCError(code: .notFound, message: error.description)
        }
        logger.info(
            "job started",
            metadata: [
                "job.id": "\(job.id)", "job.kind": "\(job.kind.rawValue)",
                "agent.id": "\(job.agent)",
            ])
        for await state in await hub.watch(job.id) {
            try await response.write(
                .with {
                    $0.jobID = state.id
                    $0.state = state.state.rawValue
                    $0.bytes = state.bytes
                    $0.error = state.error
                    $0.snapshotID = state.snapshotCreated
                    $0.detail = state.detail
                })
            if !request.wait { break }
        }
    }

    package func readSnapshot(
        request: Zentoria_V1_ReadSnapshotRequest,
        response: RPCWriter<Zentoria_V1_ReadSnapshotResponse>,
        context: ServerContext
    ) async throws {
        let located: TierSet.Located
        do {
            located = try await tiers.locate(
                SnapshotSelector(
                    request.snapshot, agent: request.agent.isEmpty ? nil : request.agent,
                    component: request.component.isEmpty ? nil : request.component),
                tier: request.tier.isEmpty ? nil : request.tier)
        } catch {
            throw RPCError(code: .notFound, message: "\(error)")
        }
        try await tiers.restore(
            located,
            to: { bytes in
                try await response.write(.with { $0.data = Data(bytes) })
            })
    }
}

import Crypto
import Foundation
package import GRPCCore
import GRPCNIOTransportHTTP2
package import Logging
package import Proto
package import RepositoryCore
import SwiftProtobuf
import Transport
import X509

/// The mutual-TLS service agents talk to: sessions, uploads, downloads. Every call names its
/// agent by the verified client certificate and is re-checked against revocation.
package struct AgentChannelService: Zentoria_V1_AgentChannel.SimpleServiceProtocol {
    let repository: Repository
    let tiers: TierSet
    let directory: AgentDirectory
    let hub: SessionHub
    let logger: Logger
    static let protocolVersion: UInt32 = 1

    package init(
        repository: Repository, tiers: TierSet, directory: AgentDirectory, hub: SessionHub,
        logger: Logger
    ) {
        (self.repository, self.tiers, self.directory, self.hub, self.logger) = (
            repository, tiers, directory, hub, logger
        )
    }

    /// The calling agent, from its verified certificate.
    func agent(of context: ServerContext) throws -> String {
        let certificate = try certificate(of: context)
        guard let name = certificate.commonName else {
            throw RPCError(code: .unauthenticated, message: "the client certificate names no agent")
        }
        guard directory.isAllowed(agent: name, certificate: certificate) else {
            throw RPCError(code: .permissionDenied, message: "agent \(name) is revoked or unknown")
        }
        return name
    }

    package func session(
        request: RPCAsyncSequence<Zentoria_V1_AgentMessage, any Error>,
        response: RPCWriter<Zentoria_V1_CoordinatorMessage>, context: ServerContext
    ) async throws {
        let agent = try agent(of: context)
        var logger = self.logger
        logger[metadataKey: "agent.id"] = "\(agent)"
        var messages = request.makeAsyncIterator()
        guard case .hello(let hello)? = try await messages.next()?.message else {
            throw RPCError(code: .failedPrecondition, message: "a session starts with hello")
        }
        let components = hello.components.map {
            AgentDirectory.ComponentRecord(name: $0.name, kind: $0.kind)
        }
        try directory.announce(agent: agent, version: hello.agentVersion, components: components)
        let (id, outbox) = await hub.open(
            agent: agent,
            components: Dictionary(
                components.map { ($0.name, $0.kind) }, uniquingKeysWith: { a, _ in a }))
        logger.info(
            "agent connected",
            metadata: [
                "agent.version": "\(hello.agentVersion)", "components": "\(components.count)",
            ])
        defer { logger.info("agent disconnected") }
        try await response.write(
            .with {
                $0.welcome = .with {
                    $0.protocolVersion = Self.protocolVersion
                    $0.coordinatorVersion = CoordinatorVersion.current
                }
            })
        let remaining = HandOff(messages)
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                for await message in outbox { try await response.write(message) }
                // The hub closed the outbox: replaced by a newer session, or revoked.
                if !directory.isAllowed(agent: agent, certificate: try certificate(of: context)) {
                    throw RPCError(code: .permissionDenied, message: "agent \(agent) was revoked")
                }
            }
            group.addTask {
                var messages = remaining.value
                while let message = try await messages.next() {
                    switch message.message {
                    case .heartbeat: directory.touch(agent: agent)
                    case .progress(let progress):
                        await hub.progress(progress.jobID, agent: agent, bytes: progress.bytes)
                    case .result(let result):
                        await hub.report(
                            result.jobID, agent: agent, success: result.success,
                            error: result.error, bytes: result.bytes, detail: result.detail)
                    case .hello, .none: continue
                    }
                }
            }
            do {
                try await group.next()
            } catch {
                group.cancelAll()
                await hub.close(agent: agent, session: id)
                throw error
            }
            group.cancelAll()
        }
        await hub.close(agent: agent, session: id)
    }

    private func certificate(of context: ServerContext) throws -> Certificate {
        guard let posix = context.transportSpecific as? HTTP2ServerTransport.Posix.Context,
            let certificate = posix.peerCertificate
        else { throw RPCError(code: .unauthenticated, message: "a client certificate is required") }
        return certificate
    }

    package func upload(
        request: RPCAsyncSequence<Zentoria_V1_UploadRequest, any Error>, context: ServerContext
    ) async throws -> Zentoria_V1_UploadResponse {
        let agent = try agent(of: context)
        var messages = request.makeAsyncIterator()
        guard case .header(let header)? = try await messages.next()?.part else {
            throw RPCError(code: .invalidArgument, message: "an upload starts with its header")
        }
        guard let job = await hub.runningJob(header.jobID, agent: agent, kind: .backup),
            job.component == header.component, await hub.claimData(job.id)
        else {
            throw RPCError(
                code: .permissionDenied,
                message: "no running backup job \(header.jobID) for \(agent)/\(header.component)")
        }
        let kind =
            directory.record(agent)?.components.first { $0.name == job.component }?.kind
            ?? header.kind
        let hub = self.hub
        let jobID = job.id
        let dump = UploadedDump(
            messages: messages,
            stopReason: {
                // A job cancelled meanwhile (its deadline passed) stores nothing.
                guard let current = await hub.job(jobID), current.state != .running else {
                    return nil
                }
                return current.error.isEmpty ? "the job was cancelled" : current.error
            })
        do {
            let result = try await repository.backup(
                dump,
                request: BackupRequest(
                    agent: agent, component: job.component, kind: kind, tags: [], hostname: agent))
            await hub.recordSnapshot(
                job.id, snapshot: result.snapshot.id.description,
                bytes: UInt64(result.snapshot.size))
            logger.info(
                "backup stored",
                metadata: [
                    "agent.id": "\(agent)", "component": "\(job.component)",
                    "snapshot.id": "\(result.snapshot.id)",
                    "bytes.total": "\(result.snapshot.size)",
                    "bytes.added": "\(result.snapshot.bytesAdded)",
                ])
            return .with {
                $0.snapshotID = result.snapshot.id.description
                $0.bytes = UInt64(result.snapshot.size)
                $0.bytesAdded = UInt64(result.snapshot.bytesAdded)
            }
        } catch let error as RPCError {
            throw error
        } catch let error as UploadedDump.UploadFailure {
            throw RPCError(code: .dataLoss, message: error.message)
        } catch {
            throw RPCError(code: .internalError, message: "storing the dump failed: \(error)")
        }
    }

    package func download(
        request: Zentoria_V1_DownloadRequest, response: RPCWriter<Zentoria_V1_DownloadResponse>,
        context: ServerContext
    ) async throws {
        let agent = try agent(of: context)
        guard let job = await hub.runningJob(request.jobID, agent: agent, kind: .restore),
            await hub.claimData(job.id)
        else {
            throw RPCError(
                code: .permissionDenied,
                message: "no running restore job \(request.jobID) for \(agent)")
        }
        let located = try await tiers.locate(
            SnapshotSelector(job.snapshot), tier: job.tier.isEmpty ? nil : job.tier)
        let snapshot = located.snapshot
        guard snapshot.agent == agent else {
            throw RPCError(
                code: .permissionDenied,
                message: "snapshot \(snapshot.id.shortDescription) belongs to another agent")
        }
        var hasher = SHA256()
        var total: UInt64 = 0
        try await tiers.restore(
            located,
            to: { bytes in
                hasher.update(data: bytes)
                total += UInt64(bytes.count)
                try await response.write(.with { $0.data = Data(bytes) })
            })
        let digest = Data(hasher.finalize())
        try await response.write(
            .with {
                $0.trailer = .with {
                    $0.totalBytes = total
                    $0.sha256 = digest
                }
            })
    }
}

/// The data of an upload as a dump: data messages until the trailer, whose byte count must
/// match what arrived. A stream that ends without a trailer is a failed dump.
struct UploadedDump: AsyncSequence {
    typealias Element = Data
    struct UploadFailure: Error { var message: String }

    let messages: RPCAsyncSequence<Zentoria_V1_UploadRequest, any Error>.AsyncIterator
    /// Why the upload must stop now (its job was cancelled), or nil; asked per message.
    let stopReason: @Sendable () async -> String?

    struct AsyncIterator: AsyncIteratorProtocol {
        var messages: RPCAsyncSequence<Zentoria_V1_UploadRequest, any Error>.AsyncIterator
        let stopReason: @Sendable () async -> String?
        var total: UInt64 = 0
        var isFinished = false

        mutating func next() async throws -> Data? {
            guard !isFinished else { return nil }
            if let reason = await stopReason() { throw UploadFailure(message: reason) }
            guard let message = try await messages.next() else {
                throw UploadFailure(
                    message: "the upload ended without its trailer: the dump did not finish")
            }
            switch message.part {
            case .data(let data):
                total += UInt64(data.count)
                return data
            case .trailer(let trailer):
                isFinished = true
                guard trailer.totalBytes == total else {
                    throw UploadFailure(
                        message:
                            "the upload does not match its trailer (\(total) bytes received, \(trailer.totalBytes) sent)"
                    )
                }
                guard try await messages.next() == nil else {
                    throw UploadFailure(message: "data after the upload trailer")
                }
                return nil
            case .header, .none:
                throw UploadFailure(message: "unexpected message inside an upload")
            }
        }
    }

    func makeAsyncIterator() -> AsyncIterator {
        AsyncIterator(messages: messages, stopReason: stopReason)
    }
}

/// Moves a value that is not Sendable into exactly one child task: nothing else touches it
/// after the hand-off, so no lock is needed.
final class HandOff<Value>: @unchecked Sendable {
    let value: Value
    init(_ value: Value) { self.value = value }
}

/// The version agents and admins see.
package enum CoordinatorVersion {
    package static let current = "0.1.0"
}

package import Components
import Crypto
import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2
package import Logging
import Proto
import ServiceLifecycle
import SwiftProtobuf
package import Transport

/// `zentoria-agent run`: dials the coordinator, keeps one session, runs the jobs pushed down it,
/// and reconnects with exponential backoff and jitter whenever the session ends.
package struct AgentService: Service {
    package static let version = "0.1.0"

    let identity: AgentIdentity
    let tls: TLSIdentity
    let coordinator: HostPort
    let components: [String: any Component]
    let logger: Logger
    /// Seconds between heartbeats.
    let heartbeat: Duration

    package init(
        identity: AgentIdentity, tls: TLSIdentity, coordinator: HostPort,
        components: [any Component], logger: Logger,
        heartbeat: Duration = .seconds(15)
    ) {
        (self.identity, self.tls, self.coordinator, self.logger, self.heartbeat) = (
            identity, tls, coordinator, logger, heartbeat
        )
        self.components = Dictionary(
            components.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
    }

    package func run() async throws {
        var delay = 0.5
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            let started = ContinuousClock.now
            do {
                try await cancelWhenGracefulShutdown { try await self.connectOnce() }
                logger.info("session ended")
            } catch {
                if Task.isCancelled || Task.isShuttingDownGracefully { break }
                logger.info("session failed", metadata: ["error": "\(error)"])
            }
            if ContinuousClock.now - started > .seconds(60) { delay = 0.5 }
            let jittered = delay * Double.random(in: 0.5...1.5)
            logger.debug("reconnecting", metadata: ["delay.seconds": "\(jittered)"])
            try? await Task.sleep(for: .seconds(jittered))
            delay = min(delay * 2, 30)
        }
    }

    /// One connection and session, until either side ends it.
    private func connectOnce() async throws {
        let transport = try HTTP2ClientTransport.Posix(
            target: AgentIdentity.target(coordinator), transportSecurity: .agentChannel(tls),
            config: ChannelLimits.client())
        try await withGRPCClient(transport: transport) { client in
            let channel = Zentoria_V1_AgentChannel.Client(wrapping: client)
            let (outbox, outboxWriter) = AsyncStream.makeStream(
                of: Zentoria_V1_AgentMessage.self, bufferingPolicy: .bufferingOldest(1024))
            let hello = Zentoria_V1_AgentMessage.with {
                $0.hello = .with {
                    $0.protocolVersion = 1
                    $0.agentVersion = Self.version
                    $0.components = components.values.sorted { $0.name < $1.name }.map {
                        component in
                        .with {
                            $0.name = component.name
                            $0.kind = component.kind
                        }
                    }
                }
            }
            let heartbeat = self.heartbeat
            try await channel.session(
                requestProducer: { writer in
                    try await writer.write(hello)
                    try await withThrowingTaskGroup(of: Void.self) { group in
                        group.addTask {
                            while true {
                                try await Task.sleep(for: heartbeat)
                                try await writer.write(
                                    .with {
                                        $0.heartbeat = .with {
                                            $0.sentUnixMillis = Int64(
                                                Date().timeIntervalSince1970 * 1000)
                                        }
                                    })
                            }
                        }
                        group.addTask {
                            for await message in outbox { try await writer.write(message) }
                        }
                        try await group.next()
                        group.cancelAll()
                    }
                },
                onResponse: { response in
                    defer { outboxWriter.finish() }
                    try await withThrowingDiscardingTaskGroup { jobs in
                        for try await message in response.messages {
                            switch message.message {
                            case .welcome(let welcome):
                                logger.info(
                                    "connected",
                                    metadata: [
                                        "coordinator.version": "\(welcome.coordinatorVersion)"
                                    ])
                            case .job(let job):
                                jobs.addTask {
                                    await self.run(job, channel: channel, report: outboxWriter)
                                }
                            case .heartbeat, .cancel, .none:
                                continue
                            }
                        }
                    }
                })
        }
    }

    /// Runs one job and reports its result; never throws (failures are reported).
    private func run(
        _ job: Zentoria_V1_Job,
        channel: Zentoria_V1_AgentChannel.Client<HTTP2ClientTransport.Posix>,
        report: AsyncStream<Zentoria_V1_AgentMessage>.Continuation
    ) async {
        var logger = self.logger
        logger[metadataKey: "job.id"] = "\(job.jobID)"
        logger[metadataKey: "component"] = "\(job.component)"
        let runner = JobRunner(channel: channel, report: report)
        do {
            guard let component = components[job.component] else {
                throw ComponentError(.configuration, "this agent has no component \(job.component)")
            }
            let bytes: UInt64
            var detail = ""
            switch job.kind {
            case .backup: bytes = try await runner.backup(job, component: component)
            case .restore: (bytes, detail) = try await runner.restore(job, component: component)
            case .unspecified, .UNRECOGNIZED:
                throw ComponentError(.configuration, "unknown job kind")
            }
            logger.info(
                "job succeeded", metadata: ["bytes.total": "\(bytes)", "check": "\(detail)"])
            report.yield(
                .with {
                    $0.result = .with {
                        $0.jobID = job.jobID
                        $0.success = true
                        $0.bytes = bytes
                        $0.detail = detail
                    }
                })
        } catch {
            logger.warning("job failed", metadata: ["error": "\(error)"])
            report.yield(
                .with {
                    $0.result = .with {
                        $0.jobID = job.jobID
                        $0.success = false
                        $0.error = "\(error)"
                    }
                })
        }
    }
}

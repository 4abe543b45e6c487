import Catalog
import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2
package import Logging
import Proto
package import RepositoryCore
import ServiceLifecycle
import Transport
import X509

/// `zentoria-coordinator serve`: the enrollment listener (TLS), the agent channel (mutual TLS)
/// and the admin socket, as one service that shuts down gracefully.
package struct CoordinatorServer: Service {
    let config: CoordinatorConfiguration
    let configPath: String?
    let repository: Repository
    let logger: Logger

    /// - Parameter configPath: the file `config` came from, for locating its problems.
    package init(
        config: CoordinatorConfiguration, configPath: String? = nil, repository: Repository,
        logger: Logger
    ) {
        (self.config, self.configPath, self.repository, self.logger) = (
            config, configPath, repository, logger
        )
    }

    package func run() async throws {
        let files = CoordinatorFiles(directory: config.stateDirectory)
        let authority = try files.loadAuthority()
        let identity = try files.loadServerIdentity()
        let directory = try AgentDirectory(path: files.agents)
        if let configPath { try config.checkComponents(against: directory, path: configPath) }
        let tokens = try TokenStore(path: files.tokens)
        let catalog = try Catalog.open(at: config.catalog)
        let hub = SessionHub(catalog: catalog)
        let health = TierHealth()
        let tiers = TierSet(primary: repository, tiers: config.tiers, logger: logger)
        let replicator =
            config.tiers.isEmpty
            ? nil
            : Replicator(
                primary: repository, tiers: config.tiers, policies: config.policies,
                catalogPath: config.catalog, health: health, logger: logger)
        let scheduler = BackupScheduler(
            policies: config.policies, hub: hub, directory: directory, catalog: catalog,
            repository: repository, replicator: replicator,
            localRetention: config.localRetention, logger: logger)

        let verifier = PeerVerification.agentCertificates(ca: authority.certificate) {
            agent, certificate in
            directory.isAllowed(agent: agent, certificate: certificate)
        }
        let agentServer = GRPCServer(
            transport: HTTP2ServerTransport.Posix(
                address: .ipv4(host: config.listen.host, port: config.listen.port),
                transportSecurity: .agentChannel(identity, verifier: verifier),
                config: ChannelLimits.server()),
            services: [
                AgentChannelService(
                    repository: repository, tiers: tiers, directory: directory, hub: hub,
                    logger: logger)
            ])
        let enrollServer = GRPCServer(
            transport: HTTP2ServerTransport.Posix(
                address: .ipv4(host: config.enrollListen.host, port: config.enrollListen.port),
                transportSecurity: .enrollment(identity)),
            services: [
                EnrollmentService(
                    authority: authority, directory: directory, tokens: tokens,
                    agentPort: config.listen.port, logger: logger)
            ])
        try? FileManager.default.removeItem(atPath: config.adminSocket)
        let adminServer = GRPCServer(
            transport: HTTP2ServerTransport.Posix(
                address: .unixDomainSocket(path: config.adminSocket), transportSecurity: .plaintext),
            services: [
                AdminService(
                    repository: repository, tiers: tiers, health: health, catalog: catalog,
                    directory: directory, tokens: tokens, hub: hub, authority: authority,
                    listen: config.listen, logger: logger)
            ])

        try await withGracefulShutdownHandler {
            try await withThrowingDiscardingTaskGroup { group in
                for server in [agentServer, enrollServer, adminServer] {
                    group.addTask { try await server.serve() }
                }
                group.addTask { try await scheduler.run() }
                // A broken tier is reported at once, never fatal: backups land on tier 1.
                if let replicator { group.addTask { await replicator.checkAll() } }
                // The admin socket is owner-only: the state directory is 0700 and so is the socket.
                group.addTask {
                    if let address = try await adminServer.listeningAddress,
                        address.unixDomainSocket != nil
                    {
                        _ = chmod(config.adminSocket, 0o600)
                    }
                    let agentPort =
                        try await agentServer.listeningAddress?.ipv4?.port ?? config.listen.port
                    let enrollPort =
                        try await enrollServer.listeningAddress?.ipv4?.port
                        ?? config.enrollListen.port
                    logger.info(
                        "coordinator serving",
                        metadata: [
                            "listen": "\(config.listen.host):\(agentPort)",
                            "enroll": "\(config.enrollListen.host):\(enrollPort)",
                            "admin": "\(config.adminSocket)",
                            "ca.fingerprint": "\(authority.fingerprint)",
                        ])
                }
            }
        } onGracefulShutdown: {
            for server in [agentServer, enrollServer, adminServer] {
                server.beginGracefulShutdown()
            }
        }
    }
}

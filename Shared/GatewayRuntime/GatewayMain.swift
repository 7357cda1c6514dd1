#if canImport(Glibc)
import Glibc
#endif
import Foundation
import GatewayAdmin
import GatewayConfig
import GatewayIdentity
import GatewayIssuerClient
import GatewayPolicy
import GatewayRecording
import GatewayState
import Hummingbird
import Logging
import ServiceLifecycle

/// The start-up every gateway executable shares: configuration, logging, recovery, state
/// store, identity keys, metrics, the admin server and the protocol listener, all in one
/// `ServiceGroup` that shuts down gracefully on SIGTERM and SIGINT.
public enum GatewayMain {
    /// Builds the protocol listener; nil when this gateway's protocol is not implemented yet.
    public typealias ListenerFactory = @Sendable (GatewayEnvironment) async throws -> (any Service)?

    public static func run(_ service: ServiceKind, arguments: [String] = CommandLine.arguments, listener: ListenerFactory) async -> Never {
        let configPath: String
        switch parseArguments(arguments, service: service) {
        case .run(let path): configPath = path
        case .exit(let code, let message):
            FileHandle.standardError.write(Data((message + "\n").utf8))
            exit(code)
        }

        let configuration: GatewayConfiguration
        do {
            configuration = try ConfigurationLoader(service: service).load(file: configPath)
        } catch {
            FileHandle.standardError.write(Data("\(service.serviceName): \(error.description)\n".utf8))
            exit(2)
        }
        guard let endpoint = configuration.services[service] else {
            FileHandle.standardError.write(Data("\(service.serviceName): invalid configuration \(configPath):\n  services.\(service.rawValue): is required to start \(service.serviceName)\n".utf8))
            exit(2)
        }

        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = ProcessInfo.processInfo.environment["LOG_LEVEL"].flatMap(Logger.Level.init(rawValue:)) ?? .info
            return handler
        }
        var logger = Logger(label: service.serviceName)
        let instanceID = "\(ProcessInfo.processInfo.hostName):\(getpid())"
        logger[metadataKey: "gateway.instance"] = "\(instanceID)"

        do {
            try await start(service, configuration: configuration, endpoint: endpoint, instanceID: instanceID, logger: logger, listener: listener)
            logger.info("stopped")
            exit(0)
        } catch {
            logger.critical("gateway stopped on an error", metadata: ["gateway.error": "\(error)"])
            exit(1)
        }
    }

    enum Arguments {
        case run(String)
        case exit(Int32, String)
    }

    static func parseArguments(_ arguments: [String], service: ServiceKind) -> Arguments {
        let usage = "usage: \(service.serviceName) --config FILE   (or GATEWAY_CONFIG=FILE)"
        var path = ProcessInfo.processInfo.environment["GATEWAY_CONFIG"]
        var index = 1
        while index < arguments.count {
            let argument = arguments[index]
            switch argument {
            case "--config", "-c":
                guard index + 1 < arguments.count else { return .exit(2, "\(service.serviceName): --config needs a file\n\(usage)") }
                path = arguments[index + 1]
                index += 2
            case "--help", "-h":
                return .exit(0, usage)
            default:
                if argument.hasPrefix("--config=") {
                    path = String(argument.dropFirst("--config=".count))
                    index += 1
                } else {
                    return .exit(2, "\(service.serviceName): unknown argument \(argument)\n\(usage)")
                }
            }
        }
        guard let path, !path.isEmpty else { return .exit(2, "\(service.serviceName): no configuration file\n\(usage)") }
        return .run(path)
    }

    static func start(
        _ service: ServiceKind, configuration: GatewayConfiguration, endpoint: ServiceEndpoint, instanceID: String,
        logger: Logger, listener makeListener: ListenerFactory
    ) async throws {
        // Everything the gateway creates (recordings, the SQLite store, the audit fallback file,
        // a generated host key) is its owner's alone: recordings hold query results and
        // terminal streams.
        umask(0o077)
        try FileManager.default.createDirectory(atPath: configuration.recordings.directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        let signer = try configuration.recordings.signingKeyFile.map { try RecordingSigner(pemFile: $0) }
        let recovered = RecordingRecovery.recover(directory: configuration.recordings.directory, signer: signer)
        if !recovered.isEmpty {
            logger.warning("sealed recordings left open by an earlier crash", metadata: ["gateway.recovered": "\(recovered.count)"])
        }

        let store: any StateStore
        switch configuration.state.backend {
        case .sqlite(let path): store = try SQLiteStateStore(path: path)
        case .postgres(let url): store = try PostgresStateStore(url: url, logger: Logger(label: "gateway.state"))
        }
        let migration = StoreMigration(store: store, logger: logger)
        await migration.attempt()

        let verifier = TokenVerifier(settings: configuration.identity, fetcher: IssuerHTTPClient(), logger: Logger(label: "gateway.identity"))
        do { try await verifier.refresh() } catch {
            logger.warning("identity keys not loaded yet; retrying on demand", metadata: ["gateway.error": "\(error)"])
        }

        let metrics = GatewayMetrics(service: service.serviceName)
        metrics.prepare(connections: configuration.connections(of: service).map(\.name))
        let audit = AuditTrail(service: service.serviceName, store: store, recordingsDirectory: configuration.recordings.directory, logger: logger)
        if await migration.isDone { await audit.replayFallback() }
        let sessions = SessionRegistry()
        let uploader = RecordingUploader(
            archive: store as? any RecordingArchive, directory: configuration.recordings.directory, instanceID: instanceID,
            metrics: metrics, logger: logger
        )
        let environment = GatewayEnvironment(
            service: service, configuration: configuration, endpoint: endpoint, verifier: verifier, store: store,
            audit: audit, metrics: metrics, sessions: sessions, policy: PolicyEngine(), signer: signer,
            instanceID: instanceID, logger: logger,
            webhooks: WebhookNotifier(hooks: configuration.webhooks, logger: Logger(label: "gateway.webhooks")),
            reviews: ReviewWatcher(store: store), recordings: uploader
        )

        let protocolListener = try await makeListener(environment)
        var readiness = [
            ReadinessCheck(name: "identity") {
                let (problem, warning) = await verifier.readiness()
                if let problem { return .failing(problem) }
                return warning.map(ReadinessCheck.Outcome.degraded) ?? .ok
            },
            ReadinessCheck(name: "state") {
                await migration.attempt()
                guard await migration.isDone else { return "state store not migrated: \(await migration.lastError ?? "unknown")" }
                do { try await store.ping(); return nil } catch { return "state store unreachable: \(error)" }
            },
        ]
        for connection in configuration.connections(of: service) {
            readiness.append(ReadinessCheck(name: "upstream:\(connection.name)") { await UpstreamProbe.problem(connection.upstream) })
        }
        if protocolListener == nil {
            readiness.append(ReadinessCheck(name: "listener") { "the \(service.rawValue) protocol listener is not available yet in this build" })
            logger.warning("the protocol listener is not available yet in this build: only the admin endpoints are served", metadata: ["gateway.listen": "\(endpoint.listen)"])
        }

        let adminContext = AdminContext(
            service: service.serviceName, verifier: verifier, store: store, adminGroups: configuration.adminGroups,
            recordingsDirectory: configuration.recordings.directory, archive: store as? any RecordingArchive,
            trustedRecordingKeys: Set(configuration.recordings.trustedKeys + [signer?.publicKeyBase64].compactMap { $0 }),
            metrics: metrics, readiness: readiness,
            killLocal: { id in await sessions.terminate(id, reason: "killed by an administrator") },
            reviewDecided: { [webhooks = environment.webhooks] review in webhooks.reviewEvent(review, service: service.serviceName) }
        )
        let admin = Application(
            router: AdminRouter.make(adminContext),
            configuration: .init(address: .hostname(endpoint.admin.host, port: endpoint.admin.port), serverName: service.serviceName),
            onServerRunning: { channel in
                logger.info("admin endpoints listening", metadata: ["gateway.admin": "\(channel.localAddress?.description ?? "?")"])
            },
            logger: Logger(label: "\(service.serviceName).admin")
        )

        // A graceful shutdown stops services in reverse order, each after the one behind it
        // has returned: the listener stops accepting, then the drain ends the sessions in
        // flight, then the rest.
        var services: [any Service] = [admin, KillWatcher(store: store, registry: sessions, interval: .seconds(2), logger: logger)]
        services.append(SessionDrain(sessions: sessions, logger: logger))
        if let protocolListener { services.append(protocolListener) }
        services.append(ReviewChangeListener(store: store, watcher: environment.reviews))
        services.append(RecordingUploadSweeper(uploader: uploader))
        services.append(ReviewExpirySweeper(store: store, audit: audit, webhooks: environment.webhooks, service: service.serviceName, logger: logger))
        let group = ServiceGroup(
            configuration: .init(
                services: services.map { .init(service: $0) },
                gracefulShutdownSignals: [.sigterm, .sigint],
                logger: logger
            )
        )
        logger.info("starting", metadata: ["gateway.connections": "\(configuration.connections(of: service).count)"])
        try await group.run()
        // Bounded: a store slow to answer (back from an outage, its pool still backing off)
        // must not hold the exit. Events a cancelled flush could not store go to the
        // fallback file.
        struct Late: Error {}
        do {
            try await answer(within: .seconds(5), { await audit.flush() }, onTimeout: { Late() })
        } catch {
            logger.warning("the last audit events went to the fallback file: the state store did not take them within 5 s")
        }
        if !(await uploader.finish(within: .seconds(10))) {
            logger.warning("recordings not yet copied to the state store within 10 s are copied at the next start")
        }
        do {
            try await answer(within: .seconds(3), { await store.close() }, onTimeout: { Late() })
        } catch {
            logger.warning("the state store did not close within 3 s")
        }
    }
}

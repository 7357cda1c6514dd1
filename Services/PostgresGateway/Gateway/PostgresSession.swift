import Foundation
import GatewayConfig
import GatewayMasking
import GatewayPolicy
import GatewayRecording
import GatewayRuntime
import GatewaySession
import GatewayState
import Logging
import NIOCore
import NIOSSL
import PostgresWire
import Synchronization

/// One client connection: start-up and token check, the upstream connection, then the two
/// relay directions with policy, approvals, masking and recording in between.
final class PostgresSession: Sendable {
    typealias Writer = FrameWriter

    let environment: GatewayEnvironment
    let cancelKeys: CancelKeyRegistry
    let tls: NIOSSLContext?
    let startup: StartupChannel
    let clientAddress: String
    let isLoopback: Bool
    let sessionID = SessionRecord.newID()
    let logger: Logger
    /// The connection's slot until it authenticates (nil in tests that build a session by hand).
    let handshake: Handshake?
    private let upstreamChannel = Mutex<(any Channel)?>(nil)
    /// The upstream backend to cancel when the session is killed mid-query.
    private let cancelTarget = Mutex<CancelKeyRegistry.Target?>(nil)

    var client: any Channel { startup.channel }

    init(environment: GatewayEnvironment, cancelKeys: CancelKeyRegistry, tls: NIOSSLContext?, client: StartupChannel, handshake: Handshake? = nil) {
        self.environment = environment
        self.handshake = handshake
        self.cancelKeys = cancelKeys
        self.tls = tls
        self.startup = client
        let remote = client.channel.remoteAddress
        self.clientAddress = ClientAddress.describe(remote)
        self.isLoopback = remote.map { address in
            guard let ip = address.ipAddress else { return address.protocol == .unix }
            return ip.hasPrefix("127.") || ip == "::1"
        } ?? false
        var logger = environment.logger
        logger[metadataKey: "gateway.session_id"] = "\(sessionID)"
        self.logger = logger
    }

    /// Ends the session from outside (kill, shutdown): cancels a running upstream query (the
    /// server would otherwise finish it before noticing the closed socket), then closes both sides.
    /// Kill, shutdown or an expired token: the client is told why (a FATAL ErrorResponse, as
    /// the server ends a backend), the statement in flight is cancelled upstream, both close.
    func terminate(reason: String) {
        client.writeAndFlush(BackendMessages.error("57P01", "access gateway: \(reason)", severity: "FATAL")).whenComplete { _ in }
        let upstream = upstreamChannel.withLock { $0 }
        cancelRunningQuery { upstream?.close(promise: nil) }
        client.close(promise: nil)
    }

    /// Cancels the statement running upstream (with the backend's cancel key, as a client
    /// would), then runs `then`.
    func cancelRunningQuery(then: @escaping @Sendable () -> Void = {}) {
        guard let target = cancelTarget.withLock({ $0 }) else { return then() }
        Task {
            await UpstreamConnection.cancel(host: target.host, port: target.port, processID: target.processID, secretKey: target.secretKey)
            then()
        }
    }

    func run() async {
        var reader = FrameReader(startup.stream.makeAsyncIterator())
        do {
            try await serve(&reader, startup.writer)
        } catch {
            logger.debug("client connection ended", metadata: ["gateway.error": "\(error)"])
        }
        try? await client.close()
    }

    // MARK: - Start-up

    private func refuse(_ outbound: Writer, code: String, _ message: String) async {
        try? await outbound.write(BackendMessages.error(code, message, severity: "FATAL"))
    }

    /// A start-up refused because the session would be one the gateway's parser reads
    /// differently from the server: counted and audited as a block of rule session-integrity.
    private func refuseForIntegrity(_ outbound: Writer, _ reason: String, command: String?, identity: Identity, connection: String) async {
        environment.metrics.decision(AuditAction.block.rawValue, connection: connection)
        await environment.audit.record(.block, identity: identity, connection: connection, command: command, rule: "session-integrity", detail: reason, clientAddress: clientAddress)
        await refuse(outbound, code: "42501", "access gateway: \(reason)")
    }

    private func serve(_ iterator: inout FrameReader, _ outbound: Writer) async throws {
        var parameters: [String: String] = [:]
        var encrypted = false
        startup: while true {
            guard let frame = try await iterator.next() else { return }
            let request: StartupRequest
            do {
                request = try StartupRequest.parse(frame)
            } catch {
                await refuse(outbound, code: "08P01", "invalid start-up packet: \(error)")
                return
            }
            switch request {
            case .ssl where tls != nil && !encrypted:
                // Answer S in plaintext, then everything that follows is TLS. Both happen in one
                // event-loop tick: the client's ClientHello can only be read after the TLS
                // handler is in place (otherwise it would reach the start-up decoder).
                let context = tls!
                try await client.eventLoop.submit { [client] in
                    client.writeAndFlush(PostgresFrame.rawByte(UInt8(ascii: "S")), promise: nil)
                    try client.pipeline.syncOperations.addHandler(NIOSSLServerHandler(context: context), position: .first)
                }.get()
                encrypted = true
            case .ssl, .gssEncryption:
                // No TLS configured (or GSS encryption, which the gateway does not offer): answer
                // N, as PostgreSQL does; libpq falls back to plaintext.
                try await outbound.write(PostgresFrame.rawByte(UInt8(ascii: "N")))
            case .cancel(let pid, let key):
                if let target = cancelKeys.target(processID: pid, secretKey: key) {
                    await UpstreamConnection.cancel(host: target.host, port: target.port, processID: target.processID, secretKey: target.secretKey)
                }
                return
            case .startup(_, let minor, let values):
                parameters = values
                let unsupported = values.keys.filter { $0.hasPrefix("_pq_.") }.sorted()
                if minor > 0 || !unsupported.isEmpty {
                    try await outbound.write(BackendMessages.negotiateProtocolVersion(minor: 0, unsupported: unsupported))
                }
                break startup
            }
        }

        guard encrypted || isLoopback || environment.endpoint.listen.isLoopback else {
            await refuse(outbound, code: "28000", "the gateway accepts a token only over TLS or on a loopback listener: connect with sslmode=require" + (tls == nil ? " (this gateway has no tls: section configured)" : ""))
            return
        }

        // The token arrives as the password.
        try await outbound.write(BackendMessages.authenticationCleartextPassword())
        // A password message longer than any token is refused by the frame decoder before it
        // is buffered (the bridge answers 08P01).
        guard let passwordFrame = try await iterator.next() else { return }
        let token: String
        do {
            token = try FrontendMessages.parsePassword(passwordFrame)
        } catch {
            await refuse(outbound, code: "08P01", "expected a password message carrying the OIDC token")
            return
        }
        let requested = parameters["database"] ?? parameters["user"] ?? ""
        let admission = Admission(environment: environment, selector: "dbname")
        let admitted = await admission.admit(token: token, connection: requested, clientAddress: clientAddress, logger: logger) { candidate in
            if case .postgres = candidate.upstream { true } else { false }
        }
        guard case .success(let admitted) = admitted, case .postgres(let upstream) = admitted.connection.upstream else {
            if case .failure(let refusal) = admitted {
                await refuse(outbound, code: refusal.reason == .token ? "28000" : "42501", "access gateway: \(refusal.message)")
            }
            return
        }
        handshake?.authenticated()
        try? await client.eventLoop.submit { [client] in
            try client.pipeline.syncOperations.handler(type: PostgresFrameBatchDecoder.self).authenticated()
        }.get()
        let (identity, connection) = (admitted.identity, admitted.connection)

        // On a guarded connection, the client's encoding must be one the parser reads as the
        // server does.
        if connection.policy.isGuarded, let reason = StartupSettings.integrityRefusal(parameters: parameters.filter { $0.key == "client_encoding" }) {
            await refuseForIntegrity(outbound, reason, command: "client_encoding = \(parameters["client_encoding"] ?? "")", identity: identity, connection: connection.name)
            return
        }

        // What the start-up packet would SET on the server is checked as those statements.
        do {
            for setting in try StartupSettings.settings(of: parameters) {
                let decision = environment.policy.decide(.sql(setting.sql), by: identity, on: connection.policy)
                let refusal: (rule: String?, message: String)
                switch decision {
                case .allow: continue
                case .deny(let reason): refusal = (nil, reason)
                case .block(let rule, let message, _): refusal = (rule, message)
                case .hold(let rule, _): refusal = (rule.name, "it needs review (rule \"\(rule.name)\"); connect without it and run it as SQL")
                }
                // A setting held for review is refused, so it is counted and audited as blocked.
                let action: AuditAction = decision.kind == "deny" ? .deny : .block
                environment.metrics.decision(action.rawValue, connection: connection.name)
                await environment.audit.record(action, identity: identity, connection: connection.name, command: setting.sql, rule: refusal.rule, detail: refusal.message, clientAddress: clientAddress)
                await refuse(outbound, code: "42501", "access gateway: the start-up setting \(setting.sql) is refused: \(refusal.message)")
                return
            }
        } catch {
            await environment.audit.record(.block, identity: identity, connection: connection.name, detail: error.message, clientAddress: clientAddress)
            await refuse(outbound, code: "42501", "access gateway: \(error.message)")
            return
        }

        // Dialling, TLS, authentication and the masked-column lookup, within upstream_timeout.
        let deadline = UpstreamDeadline(seconds: environment.endpoint.upstreamTimeout, on: client.eventLoop)
        defer { deadline.finish() }
        let upstreamName = "the upstream database at \(upstream.host):\(upstream.port)"
        let upstreamStartup: StartupChannel
        do {
            upstreamStartup = try await UpstreamConnection.connect(upstream, on: client.eventLoop, opened: deadline.attach)
        } catch {
            let message = deadline.reason(for: error.message, target: upstreamName)
            await environment.audit.record(.error, identity: identity, connection: connection.name, detail: message, clientAddress: clientAddress)
            await refuse(outbound, code: error.code, "access gateway: \(message)")
            return
        }
        let upstreamChannel = upstreamStartup.channel
        self.upstreamChannel.withLock { $0 = upstreamChannel }
        defer { upstreamChannel.close(promise: nil) }
        var upstreamReader = FrameReader(upstreamStartup.stream.makeAsyncIterator())
        let started: UpstreamConnection.Startup
        do {
            started = try await UpstreamConnection.authenticate(&upstreamReader, upstreamStartup.writer, upstream: upstream, clientParameters: parameters)
        } catch let failure as UpstreamConnection.Failure {
            let message = deadline.reason(for: failure.message, target: upstreamName)
            await environment.audit.record(.error, identity: identity, connection: connection.name, detail: message, clientAddress: clientAddress)
            await refuse(outbound, code: failure.code, "access gateway: \(message)")
            return
        }
        // A role or database default can turn standard_conforming_strings off before the
        // first statement: the server's reports at start-up are checked as later ones are.
        if connection.policy.isGuarded {
            let reported = Dictionary(started.parameters.compactMap { try? BackendMessages.parseParameterStatus($0) }, uniquingKeysWith: { $1 })
            if let reason = StartupSettings.integrityRefusal(parameters: reported) {
                await refuseForIntegrity(outbound, reason, command: nil, identity: identity, connection: connection.name)
                return
            }
        }
        // Column masking also covers a masked column under an alias: where those columns live.
        var maskedSources = MaskedColumnSources()
        if !connection.masking.columns.isEmpty {
            do {
                maskedSources = try await UpstreamConnection.maskedColumnSources(names: connection.masking.columns, &upstreamReader, upstreamStartup.writer)
            } catch {
                let message = deadline.reason(for: error.message, target: upstreamName)
                await environment.audit.record(.error, identity: identity, connection: connection.name, detail: message, clientAddress: clientAddress)
                await refuse(outbound, code: error.code, "access gateway: \(message)")
                return
            }
        }
        deadline.finish()
        let target = CancelKeyRegistry.Target(host: upstream.host, port: upstream.port, processID: started.processID, secretKey: started.secretKey)
        cancelTarget.withLock { $0 = target }
        let key = cancelKeys.register(target)
        defer { cancelKeys.remove(processID: key.processID, secretKey: key.secretKey) }

        let tracked: TrackedSession
        do {
            tracked = try await TrackedSession.start(
                id: sessionID, environment: environment, identity: identity, connection: connection, clientAddress: clientAddress,
                logger: logger, terminate: { [weak self] reason in self?.terminate(reason: reason) }
            )
        } catch {
            // Nothing was relayed; the server's side is closed on the way out.
            await refuse(outbound, code: error.sqlState, "access gateway: \(error.message)")
            return
        }
        let recorder = tracked.recorder
        let core = RelayCore(
            session: self, identity: identity, connection: connection, applicationName: parameters["application_name"],
            maskedSources: maskedSources, recorder: recorder, client: client, upstreamChannel: upstreamChannel
        )
        // Hand both channels to the relay, on their shared event loop, before the client
        // learns it may send queries.
        try await client.eventLoop.submit { [client] in
            let clientRelay = RelaySideHandler(endpoint: core, side: .client)
            let upstreamRelay = RelaySideHandler(endpoint: core, side: .upstream)
            try client.pipeline.syncOperations.addHandler(clientRelay)
            try upstreamChannel.pipeline.syncOperations.addHandler(upstreamRelay)
            try client.pipeline.syncOperations.handler(type: PostgresFrameBatchDecoder.self).sink = RelayBatchSink(core: core, side: .client)
            try upstreamChannel.pipeline.syncOperations.handler(type: PostgresFrameBatchDecoder.self).sink = RelayBatchSink(core: core, side: .upstream)
            StartupChannel.removeBridge(from: client)
            StartupChannel.removeBridge(from: upstreamChannel)
            try core.start()
        }.get()

        var ready = [BackendMessages.authenticationOk()] + started.parameters
        ready.append(BackendMessages.backendKeyData(processID: key.processID, secretKey: key.secretKey))
        ready.append(BackendMessages.readyForQuery())
        try? await outbound.write(contentsOf: ready)
        try? await core.closed.futureResult.get()

        await tracked.end()
    }
}

import GatewayConfig
import GatewayPolicy
import GatewayRecording
import GatewayRuntime
import GatewaySession
import GatewayState
import KubeExecGatewayCore
import Logging
import NIOCore
import NIOHTTP1
import NIOWebSocket
import Synchronization

/// The upgrade of an exec, attach or port-forward request to its stream, WebSocket
/// (`upgrader()`) or SPDY/3.1 (`spdyUpgrader()`). Before the client's stream opens the request
/// is admitted (token, connection, groups) and checked (an exec's command; port forwarding
/// against `allow_port_forwarding` and masking): a refusal is answered as a 401/403 `Status`
/// and the upgrade declined (which ends the connection); a hold or an allowed request opens the
/// stream and its relay takes over.
final class KubeExecUpgrade: Sendable {
    struct Admitted: Sendable {
        var session: Admission.Admitted
        var upstream: KubeUpstream
        var target: String
        var request: KubeRequest
        var options: KubeExecOptions
        /// The client's exec protocol (its version, over SPDY).
        var protocolKind: KubeStreamProtocol
        var overSPDY: Bool
        /// A port forward (its SPDY session passed through) rather than an exec.
        var portForward = false
        var justification: String?
        /// The session, started (stored, recording) before the upgrade is answered.
        var tracked: TrackedSession
        /// How a kill reaches the relay once it exists.
        var terminator: StreamTerminator
    }

    let environment: GatewayEnvironment
    let clientAddress: String
    let logger: Logger
    /// The connection's slot until the stream request is admitted.
    let handshake: Handshake?
    private let admitted = Mutex<Admitted?>(nil)
    /// Whether a relay took the admitted stream (and with it the session's end).
    private let opened = Mutex(false)
    /// Completes when this connection's stream ended and its recording is sealed (once open).
    let finished = Mutex<(@Sendable () async -> Void)?>(nil)

    init(environment: GatewayEnvironment, clientAddress: String, logger: Logger, handshake: Handshake? = nil) {
        self.environment = environment
        self.handshake = handshake
        self.clientAddress = clientAddress
        self.logger = logger
    }

    /// WebSocket messages are gathered whole before the codec reads them (bounded).
    static func aggregator() -> NIOWebSocketFrameAggregator {
        NIOWebSocketFrameAggregator(minNonFinalFragmentSize: 0, maxAccumulatedFrameCount: 256, maxAccumulatedFrameSize: 16 << 20)
    }

    func upgrader() -> NIOWebSocketServerUpgrader {
        NIOWebSocketServerUpgrader(
            maxFrameSize: 1 << 20, automaticErrorHandling: true,
            shouldUpgrade: { [self] channel, head in
                channel.eventLoop.makeFutureWithTask {
                    let offered = head.headers["sec-websocket-protocol"].flatMap { $0.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) } }
                    guard let chosen = await self.admit(head, offered: offered, overSPDY: false, channel: channel) else { return nil }
                    return HTTPHeaders([("Sec-WebSocket-Protocol", chosen)])
                }
            },
            upgradePipelineHandler: { [self] channel, _ in
                channel.eventLoop.makeFutureWithTask { try await self.open(channel) }
            }
        )
    }

    func spdyUpgrader() -> KubeSPDYUpgrader {
        KubeSPDYUpgrader(exec: self)
    }

    /// Admits the upgrade of `head` and checks it; the stream protocol to answer with, or nil
    /// (the refusal answered, the connection ending) when it may not open.
    func admit(_ head: HTTPRequestHead, offered: [String], overSPDY: Bool, channel: any Channel) async -> String? {
        switch await decide(head, offered: offered, overSPDY: overSPDY, channel: channel) {
        case .success(let chosen):
            return chosen
        case .failure(let failure):
            guard let status = failure.status else { return nil }
            await KubeResponder(channel: channel, keepAlive: false).status(status)
            return nil
        }
    }

    struct Refusal: Error {
        /// nil: not a stream request (served as an ordinary request).
        var status: KubeStatus?
    }

    /// The protocol chosen for an admitted stream request, or its refusal.
    private func decide(_ head: HTTPRequestHead, offered: [String], overSPDY: Bool, channel: any Channel) async -> Result<String, Refusal> {
        let parts = head.uri.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false)
        guard let (name, path) = KubeHTTPRequest.route(String(parts[0])) else { return .failure(Refusal()) }
        let query = KubeRequest.queryItems(parts.count > 1 ? parts[1] : "")
        let kube = KubeRequest.parse(method: head.method.rawValue, path: path, query: query)
        guard kube.isExec || kube.isPortForward else { return .failure(Refusal()) }
        let request = KubeHTTPRequest(head: head, body: ByteBuffer())
        switch await KubeAdmission(environment: environment).admit(token: request.bearerToken, connection: name, clientAddress: clientAddress, logger: logger) {
        case .failure(let failure):
            return .failure(Refusal(status: failure.status))
        case .success(let (session, upstream)):
            handshake?.authenticated()
            let options = KubeExecOptions(request: kube, query: query)
            let gate = KubeRequestGate(environment: environment, identity: session.identity, connection: session.connection, clientAddress: clientAddress)
            let refusal = kube.isPortForward ? gate.portForwardRefusal(kube) : gate.execRefusal(options, request: kube)
            if let refusal { return .failure(Refusal(status: refusal)) }
            let chosen: String?
            var kind = KubeStreamProtocol.v4
            if kube.isPortForward {
                let wanted = overSPDY ? KubeUpstreamExec.portForwardProtocol : KubeUpstreamExec.portForwardTunnel
                chosen = offered.contains(wanted) ? wanted : nil
            } else if let negotiated = overSPDY ? KubeStreamProtocol.negotiateSPDY(offered) : KubeStreamProtocol.negotiate(offered.joined(separator: ",")) {
                kind = negotiated
                chosen = negotiated.rawValue
            } else {
                chosen = nil
            }
            guard let chosen else {
                let speaks = kube.isPortForward ? "portforward.k8s.io (SPDY/3.1+portforward.k8s.io over WebSocket)" : "v5.channel.k8s.io and v4.channel.k8s.io"
                return .failure(Refusal(status: .failure(
                    code: 400, reason: "BadRequest",
                    message: "access gateway: no stream protocol in common (offered: \(offered.joined(separator: ", ")); the gateway speaks \(speaks))"
                )))
            }
            let target = path + (parts.count > 1 ? "?\(parts[1])" : "")
            let terminator = StreamTerminator()
            let command = options.command.joined(separator: " ")
            let tracked: TrackedSession
            do {
                tracked = try await TrackedSession.start(
                    id: SessionRecord.newID(), environment: environment, identity: session.identity, connection: session.connection,
                    clientAddress: clientAddress,
                    terminal: kube.isPortForward ? nil : TerminalInfo(width: 80, height: 24, command: command.isEmpty ? nil : command, term: options.tty ? "xterm" : nil),
                    logger: logger, terminate: { reason in terminator.terminate(reason) }
                )
            } catch {
                return .failure(Refusal(status: .failure(code: 503, reason: "ServiceUnavailable", message: "access gateway: \(error.message)")))
            }
            admitted.withLock {
                $0 = Admitted(
                    session: session, upstream: upstream, target: target, request: kube, options: options, protocolKind: kind, overSPDY: overSPDY,
                    portForward: kube.isPortForward, justification: head.headers.first(name: "x-gateway-reason"), tracked: tracked, terminator: terminator
                )
            }
            // An upgrade that never completes (the client left first) ends the session here.
            channel.closeFuture.whenComplete { [self] _ in
                guard claimSession() else { return }
                Task { await tracked.end() }
            }
            return .success(chosen)
        }
    }

    /// Whoever claims the started session first ends it: the relay (from `open`) or the
    /// connection's close before the upgrade completed. True for the first caller only.
    private func claimSession() -> Bool {
        opened.withLock { opened in
            defer { opened = true }
            return !opened
        }
    }

    /// The stream is upgraded: its relay takes the channel.
    func open(_ channel: any Channel) async throws {
        guard let admitted = admitted.withLock({ $0 }) else { throw KubeGatewayFailure("no admitted stream request") }
        guard claimSession() else { throw KubeGatewayFailure("the stream's connection closed before it opened") }
        if admitted.portForward {
            let relay = try await KubePortForwardRelay.start(admitted, environment: environment, clientAddress: clientAddress, client: channel, logger: logger)
            finished.withLock { $0 = { await relay.finished() } }
        } else {
            let relay = try await KubeExecRelay.start(admitted, environment: environment, clientAddress: clientAddress, client: channel, logger: logger)
            finished.withLock { $0 = { await relay.finished() } }
        }
    }
}

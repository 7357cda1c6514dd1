import GatewayConfig
import GatewayPolicy
import GatewayRuntime
import GatewaySession
import KubeExecGatewayCore
import Logging
import NIOCore
import NIOHTTP1
import NIOWebSocket
import Synchronization

/// The upgrade of an exec or attach request to its stream, WebSocket (`upgrader()`) or SPDY/3.1
/// (`spdyUpgrader()`). Before the client's stream opens the request is admitted (token,
/// connection, groups) and its command checked: a refusal is answered as a 401/403 `Status`
/// and the upgrade declined (which ends the connection); a hold or an allowed command opens the
/// stream and the relay takes over.
final class KubeExecUpgrade: Sendable {
    struct Admitted: Sendable {
        var session: Admission.Admitted
        var upstream: KubeUpstream
        var target: String
        var request: KubeRequest
        var options: KubeExecOptions
        /// The client's stream protocol (its version, over SPDY).
        var protocolKind: KubeStreamProtocol
        var overSPDY: Bool
        var justification: String?
    }

    let environment: GatewayEnvironment
    let clientAddress: String
    let logger: Logger
    /// The refusal of a declined upgrade (answered before the connection closes; audited once).
    let refusal = Mutex<KubeStatus?>(nil)
    private let admitted = Mutex<Admitted?>(nil)
    /// The relay of this connection's stream, once open (its end is awaited by the connection).
    let relay = Mutex<KubeExecRelay?>(nil)

    init(environment: GatewayEnvironment, clientAddress: String, logger: Logger) {
        self.environment = environment
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
                    let chosen = KubeStreamProtocol.negotiate(head.headers["sec-websocket-protocol"].joined(separator: ","))
                    guard await self.admit(head, protocol: chosen, overSPDY: false, channel: channel), let chosen else { return nil }
                    return HTTPHeaders([("Sec-WebSocket-Protocol", chosen.rawValue)])
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

    /// Admits the upgrade of `head` and checks its command; false (the refusal answered, the
    /// connection ending) when it may not open, or `chosen` is nil (no protocol in common).
    func admit(_ head: HTTPRequestHead, protocol chosen: KubeStreamProtocol?, overSPDY: Bool, channel: any Channel) async -> Bool {
        if let status = await decide(head, protocol: chosen, overSPDY: overSPDY) {
            refusal.withLock { $0 = status }
            await KubeResponder(channel: channel, keepAlive: false).status(status)
            return false
        }
        return admitted.withLock { $0 != nil }
    }

    /// The refusal of an exec upgrade, or nil with the request admitted.
    private func decide(_ head: HTTPRequestHead, protocol chosen: KubeStreamProtocol?, overSPDY: Bool) async -> KubeStatus? {
        let parts = head.uri.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false)
        guard let (name, path) = KubeHTTPRequest.route(String(parts[0])) else { return nil }
        let query = KubeRequest.queryItems(parts.count > 1 ? parts[1] : "")
        let kube = KubeRequest.parse(method: head.method.rawValue, path: path, query: query)
        guard kube.isExec else { return nil }
        let request = KubeHTTPRequest(head: head, body: ByteBuffer())
        switch await KubeAdmission(environment: environment).admit(token: request.bearerToken, connection: name, clientAddress: clientAddress, logger: logger) {
        case .failure(let failure):
            return failure.status
        case .success(let (session, upstream)):
            let options = KubeExecOptions(request: kube, query: query)
            let gate = KubeRequestGate(environment: environment, identity: session.identity, connection: session.connection, clientAddress: clientAddress)
            if let status = gate.execRefusal(options, request: kube) { return status }
            guard let chosen else {
                let offered = overSPDY ? head.headers["x-stream-protocol-version"].joined(separator: ", ") : head.headers["sec-websocket-protocol"].joined(separator: ", ")
                return .failure(
                    code: 400, reason: "BadRequest",
                    message: "access gateway: no stream protocol in common (offered: \(offered); the gateway speaks v5.channel.k8s.io and v4.channel.k8s.io)"
                )
            }
            let target = path + (parts.count > 1 ? "?\(parts[1])" : "")
            admitted.withLock {
                $0 = Admitted(
                    session: session, upstream: upstream, target: target, request: kube, options: options, protocolKind: chosen, overSPDY: overSPDY,
                    justification: head.headers.first(name: "x-gateway-reason")
                )
            }
            return nil
        }
    }

    /// The stream is upgraded: the relay takes the channel.
    func open(_ channel: any Channel) async throws {
        guard let admitted = admitted.withLock({ $0 }) else { throw KubeGatewayFailure("no admitted exec request") }
        let relay = try await KubeExecRelay.start(admitted, environment: environment, clientAddress: clientAddress, client: channel, logger: logger)
        self.relay.withLock { $0 = relay }
    }
}

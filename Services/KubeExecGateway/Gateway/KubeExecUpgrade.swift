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

/// The WebSocket upgrade of an exec or attach request. Before the client's stream opens the
/// request is admitted (token, connection, groups) and its command checked: a refusal is
/// answered as a 401/403 `Status` and the upgrade declined (which ends the connection); a hold
/// or an allowed command opens the stream and the relay takes over.
final class KubeExecUpgrade: Sendable {
    struct Admitted: Sendable {
        var session: Admission.Admitted
        var upstream: KubeUpstream
        var target: String
        var request: KubeRequest
        var options: KubeExecOptions
        var protocolKind: KubeStreamProtocol
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

    func upgrader() -> NIOWebSocketServerUpgrader {
        NIOWebSocketServerUpgrader(
            maxFrameSize: 1 << 20, automaticErrorHandling: true,
            shouldUpgrade: { [self] channel, head in
                channel.eventLoop.makeFutureWithTask {
                    let headers = await self.shouldUpgrade(head)
                    // A declined upgrade ends the connection: the refusal is answered first.
                    if headers == nil, let status = self.refusal.withLock({ $0 }) {
                        await KubeResponder(channel: channel, keepAlive: false).status(status)
                    }
                    return headers
                }
            },
            upgradePipelineHandler: { [self] channel, _ in
                channel.eventLoop.makeFutureWithTask { try await self.open(channel) }
            }
        )
    }

    private func shouldUpgrade(_ head: HTTPRequestHead) async -> HTTPHeaders? {
        let parts = head.uri.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false)
        guard let (name, path) = KubeHTTPRequest.route(String(parts[0])) else { return nil }
        let query = KubeRequest.queryItems(parts.count > 1 ? parts[1] : "")
        let kube = KubeRequest.parse(method: head.method.rawValue, path: path, query: query)
        guard kube.isExec, let chosen = KubeStreamProtocol.negotiate(head.headers["sec-websocket-protocol"].joined(separator: ",")) else { return nil }
        let request = KubeHTTPRequest(head: head, body: ByteBuffer())
        switch await KubeAdmission(environment: environment).admit(token: request.bearerToken, connection: name, clientAddress: clientAddress, logger: logger) {
        case .failure(let failure):
            refusal.withLock { $0 = failure.status }
            return nil
        case .success(let (session, upstream)):
            let options = KubeExecOptions(request: kube, query: query)
            let gate = KubeRequestGate(environment: environment, identity: session.identity, connection: session.connection, clientAddress: clientAddress)
            if let status = gate.execRefusal(options, request: kube) {
                refusal.withLock { $0 = status }
                return nil
            }
            let target = path + (parts.count > 1 ? "?\(parts[1])" : "")
            admitted.withLock {
                $0 = Admitted(
                    session: session, upstream: upstream, target: target, request: kube, options: options, protocolKind: chosen,
                    justification: head.headers.first(name: "x-gateway-reason")
                )
            }
            return HTTPHeaders([("Sec-WebSocket-Protocol", chosen.rawValue)])
        }
    }

    private func open(_ channel: any Channel) async throws {
        guard let admitted = admitted.withLock({ $0 }) else { throw KubeGatewayFailure("no admitted exec request") }
        let relay = try await KubeExecRelay.start(admitted, environment: environment, clientAddress: clientAddress, client: channel, logger: logger)
        self.relay.withLock { $0 = relay }
    }
}

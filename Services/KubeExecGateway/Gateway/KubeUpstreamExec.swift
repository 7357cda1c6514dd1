import Foundation
import GatewayConfig
import GatewayPolicy
import KubeExecGatewayCore
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL
import NIOWebSocket

/// Opens an exec or attach stream on the API server as a WebSocket client, on the client's
/// event loop: TLS trusting the connection's CA, the gateway's bearer token, impersonation of
/// the identity where the connection says so, and the stream protocol the client chose.
enum KubeUpstreamExec {
    struct Failure: Error, CustomStringConvertible {
        let description: String
    }

    /// Connects and upgrades; `configure` adds the relay's handlers to the upgraded channel.
    static func open(
        _ upstream: KubeUpstream, target: String, protocol kind: KubeStreamProtocol, identity: Identity, on eventLoop: any EventLoop,
        configure: @escaping @Sendable (any Channel) throws -> Void
    ) -> EventLoopFuture<any Channel> {
        guard let url = URL(string: upstream.url), let host = url.host else {
            return eventLoop.makeFailedFuture(Failure(description: "the connection's upstream url \(upstream.url) is not a URL"))
        }
        let secure = url.scheme == "https"
        let port = url.port ?? (secure ? 443 : 80)
        let token: String
        let tls: NIOSSLContext?
        do {
            token = try KubeUpstreamClients.token(upstream)
            tls = secure ? try NIOSSLContext(configuration: KubeUpstreamClients.tls(upstream)) : nil
        } catch {
            return eventLoop.makeFailedFuture(Failure(description: "the connection's credential could not be read: \(error)"))
        }
        let upgraded = eventLoop.makePromise(of: (any Channel).self)
        let base = url.path.hasSuffix("/") ? String(url.path.dropLast()) : url.path
        var headers = HTTPHeaders([("Host", "\(host):\(port)"), ("Authorization", "Bearer \(token)"), ("Sec-WebSocket-Protocol", kind.rawValue)])
        if upstream.impersonate {
            headers.add(name: "Impersonate-User", value: identity.subject)
            for group in identity.groups { headers.add(name: "Impersonate-Group", value: group) }
        }
        let head = HTTPRequestHead(version: .http1_1, method: .GET, uri: base + target, headers: headers)
        let connect = ClientBootstrap(group: eventLoop)
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .connectTimeout(.seconds(10))
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    if let tls { try channel.pipeline.syncOperations.addHandler(try NIOSSLClientHandler(context: tls, serverHostname: url.host.flatMap { $0.first?.isNumber == true ? nil : $0 })) }
                    let refusal = UpgradeRefusal(upgraded: upgraded)
                    let upgrader = NIOWebSocketClientUpgrader(maxFrameSize: 1 << 20) { channel, _ in
                        channel.eventLoop.makeCompletedFuture {
                            // Upgraded: what follows are WebSocket frames, not a response.
                            let context = try channel.pipeline.syncOperations.context(handler: refusal)
                            channel.pipeline.syncOperations.removeHandler(context: context, promise: nil)
                            try configure(channel)
                            upgraded.succeed(channel)
                        }
                    }
                    try channel.pipeline.syncOperations.addHTTPClientHandlers(withClientUpgrade: (upgraders: [upgrader], completionHandler: { _ in }))
                    try channel.pipeline.syncOperations.addHandler(refusal)
                }
            }
            .connect(host: host, port: port)
        connect.whenSuccess { channel in
            channel.write(HTTPClientRequestPart.head(head), promise: nil)
            channel.writeAndFlush(HTTPClientRequestPart.end(nil), promise: nil)
            channel.closeFuture.whenComplete { _ in upgraded.fail(Failure(description: "the API server closed the connection before the stream opened")) }
        }
        connect.whenFailure { error in upgraded.fail(Failure(description: "the API server could not be reached: \(error)")) }
        return upgraded.futureResult
    }

    /// Fails the upgrade when the API server answers with a response instead (a 403 `Status`,
    /// a 400 for a server that wants SPDY), with what it said.
    final class UpgradeRefusal: ChannelInboundHandler, RemovableChannelHandler {
        typealias InboundIn = HTTPClientResponsePart
        let upgraded: EventLoopPromise<any Channel>
        private var status: HTTPResponseStatus?
        private var body = ByteBuffer()

        init(upgraded: EventLoopPromise<any Channel>) {
            self.upgraded = upgraded
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            switch unwrapInboundIn(data) {
            case .head(let head): status = head.status
            case .body(var chunk): if body.readableBytes < 4096 { body.writeBuffer(&chunk) }
            case .end:
                let message = (try? JSONSerialization.jsonObject(with: Data(body.readableBytesView)) as? [String: Any])?["message"] as? String
                upgraded.fail(Failure(description: "the API server refused the stream (\(status?.code ?? 0))" + (message.map { ": \($0)" } ?? "")))
                context.close(promise: nil)
            }
        }

        func errorCaught(context: ChannelHandlerContext, error: any Error) {
            upgraded.fail(Failure(description: "the stream could not be opened: \(error)"))
            context.close(promise: nil)
        }
    }
}

import Foundation
import GatewayConfig
import GatewayPolicy
import GatewaySession
import KubeExecGatewayCore
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL
import NIOWebSocket

/// Opens an exec or attach stream on the API server, on the client's event loop: TLS trusting
/// the connection's CA, the gateway's bearer token, impersonation of the identity where the
/// connection says so. WebSocket first (v5, else v4: what API servers since 1.30 speak); when
/// the server answers the upgrade with anything but 101 (an API server before 1.30 behind a
/// proxy, a 400 from one that wants SPDY) the stream is opened again over SPDY/3.1, as
/// client-go's fallback executor does. A 401, 403 or 404 is the server's answer to the request
/// itself, not to the protocol: it is not retried.
enum KubeUpstreamExec {
    struct Failure: Error, CustomStringConvertible {
        let description: String
        /// The HTTP status the server answered the upgrade with, if it answered.
        var status: Int?
    }

    static let webSocketProtocols = [KubeStreamProtocol.v5, .v4]

    /// What the stream is for: an exec or attach (the gateway reads its channels), or port
    /// forwarding (a SPDY session passed through; over SPDY itself when the client spoke it,
    /// else tunnelled in WebSocket as `SPDY/3.1+portforward.k8s.io`).
    enum Stream: Sendable {
        case exec(KubeExecOptions)
        case portForward(overSPDY: Bool)
    }

    static let portForwardProtocol = "portforward.k8s.io"
    static let portForwardTunnel = "SPDY/3.1+portforward.k8s.io"
    /// Answers to an upgrade that say nothing about the protocol.
    static let final: Set<Int> = [401, 403, 404]

    /// Connects and upgrades; `configure` adds the relay's handler after the stream's codec
    /// (it is told the exec protocol the server chose). An exec's codec delivers `.ready`
    /// once the server's streams are open; a port forward's bytes flow at once.
    ///
    /// Dialling, TLS and the upgrade's answer must come within `timeout` seconds
    /// (`upstream_timeout`): an API server that accepts and then says nothing is let go.
    static func open(
        _ upstream: KubeUpstream, target: String, stream: Stream, identity: Identity, on eventLoop: any EventLoop, timeout: Double = 15,
        configure: @escaping @Sendable (any Channel, KubeStreamProtocol?) throws -> Void
    ) -> EventLoopFuture<Void> {
        let endpoint: Endpoint
        do { endpoint = try Endpoint(upstream, target: target, identity: identity, timeout: timeout) } catch { return eventLoop.makeFailedFuture(error) }
        if case .portForward(let overSPDY) = stream {
            return overSPDY ? openSPDY(endpoint, stream: stream, configure: configure, on: eventLoop) : openTunnel(endpoint, configure: configure, on: eventLoop)
        }
        let webSocketOpened = eventLoop.makePromise(of: Void.self)
        let webSocket = NIOWebSocketClientUpgrader(
            requestKey: NIOWebSocketClientUpgrader.randomRequestKey(), maxFrameSize: 1 << 20, automaticErrorHandling: true
        ) { channel, response in
            channel.eventLoop.makeCompletedFuture {
                let kind = KubeStreamProtocol.negotiate(response.headers["sec-websocket-protocol"].joined(separator: ",")) ?? .v4
                let codec = KubeWebSocketStreamCodec(kind: kind, isClient: true)
                try channel.pipeline.syncOperations.addHandler(KubeExecUpgrade.aggregator())
                try channel.pipeline.syncOperations.addHandler(codec)
                try configure(channel, kind)
                // Open with the upgrade: before the messages the server sent with its answer are read.
                try channel.pipeline.syncOperations.context(handler: codec).fireChannelRead(NIOAny(KubeStreamEvent.ready))
            }.always { webSocketOpened.completeWith($0) }
        }
        var headers = endpoint.headers
        headers.add(name: "Sec-WebSocket-Protocol", value: webSocketProtocols.map(\.rawValue).joined(separator: ", "))
        return connect(endpoint, headers: headers, upgrader: webSocket, opened: webSocketOpened).flatMapError { error in
            guard let failure = error as? Failure, let status = failure.status, !final.contains(status) else { return eventLoop.makeFailedFuture(error) }
            return openSPDY(endpoint, stream: stream, configure: configure, on: eventLoop).flatMapErrorThrowing { spdyError in
                throw Failure(description: "\(spdyError) (after the WebSocket upgrade was refused with \(status))", status: (spdyError as? Failure)?.status)
            }
        }
    }

    private static func openSPDY(
        _ endpoint: Endpoint, stream: Stream, configure: @escaping @Sendable (any Channel, KubeStreamProtocol?) throws -> Void, on eventLoop: any EventLoop
    ) -> EventLoopFuture<Void> {
        let opened = eventLoop.makePromise(of: Void.self)
        return connect(endpoint, headers: endpoint.headers, upgrader: SPDYClientUpgrader(stream: stream, configure: configure, opened: opened), opened: opened)
    }

    /// Port forwarding tunnelled in WebSocket binary messages (API servers since 1.31).
    private static func openTunnel(
        _ endpoint: Endpoint, configure: @escaping @Sendable (any Channel, KubeStreamProtocol?) throws -> Void, on eventLoop: any EventLoop
    ) -> EventLoopFuture<Void> {
        let opened = eventLoop.makePromise(of: Void.self)
        let upgrader = NIOWebSocketClientUpgrader(
            requestKey: NIOWebSocketClientUpgrader.randomRequestKey(), maxFrameSize: 1 << 20, automaticErrorHandling: true
        ) { channel, _ in
            channel.eventLoop.makeCompletedFuture {
                try channel.pipeline.syncOperations.addHandler(KubeExecUpgrade.aggregator())
                try channel.pipeline.syncOperations.addHandler(KubeWebSocketBytesCodec(isClient: true))
                try configure(channel, nil)
            }.always { opened.completeWith($0) }
        }
        var headers = endpoint.headers
        headers.add(name: "Sec-WebSocket-Protocol", value: portForwardTunnel)
        return connect(endpoint, headers: headers, upgrader: upgrader, opened: opened)
    }

    /// Where and as whom the stream is opened.
    struct Endpoint {
        let host: String
        let port: Int
        let tls: NIOSSLContext?
        let serverName: String?
        let uri: String
        let headers: HTTPHeaders
        /// Seconds the stream has to open (`upstream_timeout`).
        let timeout: Double

        init(_ upstream: KubeUpstream, target: String, identity: Identity, timeout: Double) throws(Failure) {
            self.timeout = timeout
            guard let url = URL(string: upstream.url), let host = url.host else {
                throw Failure(description: "the connection's upstream url \(upstream.url) is not a URL")
            }
            let secure = url.scheme == "https"
            self.host = host
            port = url.port ?? (secure ? 443 : 80)
            let token: String
            do {
                token = try KubeUpstreamClients.token(upstream)
                tls = secure ? try NIOSSLContext(configuration: KubeUpstreamClients.tls(upstream)) : nil
            } catch {
                throw Failure(description: "the connection's credential could not be read: \(error)")
            }
            serverName = host.first?.isNumber == true ? nil : host
            let base = url.path.hasSuffix("/") ? String(url.path.dropLast()) : url.path
            uri = base + target
            var headers = HTTPHeaders([("Host", "\(host):\(port)"), ("Authorization", "Bearer \(token)")])
            if upstream.impersonate {
                headers.add(name: "Impersonate-User", value: identity.subject)
                for group in identity.groups { headers.add(name: "Impersonate-Group", value: group) }
            }
            self.headers = headers
        }
    }

    /// Connects and asks for the upgrade; `opened` completes once `upgrader` configured the
    /// stream, or with the reason it could not.
    private static func connect(
        _ endpoint: Endpoint, headers: HTTPHeaders, upgrader: any NIOHTTPClientProtocolUpgrader & Sendable, opened upgraded: EventLoopPromise<Void>
    ) -> EventLoopFuture<Void> {
        let eventLoop = upgraded.futureResult.eventLoop
        let head = HTTPRequestHead(version: .http1_1, method: .GET, uri: endpoint.uri, headers: headers)
        let connect = ClientBootstrap(group: eventLoop)
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .connectTimeout(.milliseconds(Int64(endpoint.timeout * 1000)))
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    if let tls = endpoint.tls {
                        try channel.pipeline.syncOperations.addHandler(try NIOSSLClientHandler(context: tls, serverHostname: endpoint.serverName))
                    }
                    let refusal = UpgradeRefusal(upgraded: upgraded)
                    try channel.pipeline.syncOperations.addHTTPClientHandlers(
                        leftOverBytesStrategy: .forwardBytes,
                        withClientUpgrade: (upgraders: [upgrader], completionHandler: { context in
                            // Upgraded: what follows is the stream, not a response.
                            if let refusal = try? context.pipeline.syncOperations.context(handlerType: UpgradeRefusal.self) {
                                context.pipeline.syncOperations.removeHandler(context: refusal, promise: nil)
                            }
                        })
                    )
                    try channel.pipeline.syncOperations.addHandler(refusal)
                }
            }
            .connect(host: endpoint.host, port: endpoint.port)
        connect.whenSuccess { channel in
            channel.write(HTTPClientRequestPart.head(head), promise: nil)
            channel.writeAndFlush(HTTPClientRequestPart.end(nil), promise: nil)
            channel.closeFuture.whenComplete { _ in upgraded.fail(Failure(description: "the API server closed the connection before the stream opened")) }
        }
        connect.whenFailure { error in upgraded.fail(Failure(description: "the API server could not be reached: \(error)")) }
        let deadline = eventLoop.scheduleTask(in: .milliseconds(Int64(endpoint.timeout * 1000))) {
            upgraded.fail(Failure(description: "the API server did not open the stream within \(UpstreamDeadline.format(endpoint.timeout)) (upstream_timeout)"))
            connect.whenSuccess { $0.close(promise: nil) }
        }
        upgraded.futureResult.whenComplete { _ in deadline.cancel() }
        return upgraded.futureResult
    }

    /// The SPDY/3.1 upgrade as client-go asks for it: for an exec v5 and v4 offered, and the
    /// upgraded connection's codec opens the exec's streams; for port forwarding
    /// `portforward.k8s.io`, and the connection is the client's SPDY session, passed through.
    struct SPDYClientUpgrader: NIOHTTPClientProtocolUpgrader, Sendable {
        let stream: Stream
        let configure: @Sendable (any Channel, KubeStreamProtocol?) throws -> Void
        let opened: EventLoopPromise<Void>

        var supportedProtocol: String { KubeSPDYUpgrader.name }
        var requiredUpgradeHeaders: [String] { [] }

        func addCustom(upgradeRequestHeaders: inout HTTPHeaders) {
            switch stream {
            case .exec:
                for version in KubeUpstreamExec.webSocketProtocols { upgradeRequestHeaders.add(name: "X-Stream-Protocol-Version", value: version.rawValue) }
            case .portForward:
                upgradeRequestHeaders.add(name: "X-Stream-Protocol-Version", value: KubeUpstreamExec.portForwardProtocol)
            }
        }

        func shouldAllowUpgrade(upgradeResponse: HTTPResponseHead) -> Bool {
            let chosen = upgradeResponse.headers["x-stream-protocol-version"]
            switch stream {
            case .exec: return KubeStreamProtocol.negotiateSPDY(chosen) != nil
            case .portForward: return chosen.contains(KubeUpstreamExec.portForwardProtocol)
            }
        }

        func upgrade(context: ChannelHandlerContext, upgradeResponse: HTTPResponseHead) -> EventLoopFuture<Void> {
            let channel = context.channel
            return channel.eventLoop.makeCompletedFuture {
                guard case .exec(let options) = stream else { return try configure(channel, nil) }
                let kind = KubeStreamProtocol.negotiateSPDY(upgradeResponse.headers["x-stream-protocol-version"]) ?? .v4
                let session = try SPDYStreamSession(role: .client, expected: SPDYStreamSession.channels(of: options))
                try channel.pipeline.syncOperations.addHandler(KubeSPDYStreamCodec(session: session))
                try configure(channel, kind)
            }.always { opened.completeWith($0) }
        }
    }

    /// Fails the upgrade when the API server answers with a response instead (a 403 `Status`,
    /// a 400 for a server that wants SPDY), with what it said.
    final class UpgradeRefusal: ChannelInboundHandler, RemovableChannelHandler {
        typealias InboundIn = HTTPClientResponsePart
        let upgraded: EventLoopPromise<Void>
        private var status: HTTPResponseStatus?
        private var body = ByteBuffer()

        init(upgraded: EventLoopPromise<Void>) {
            self.upgraded = upgraded
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            switch unwrapInboundIn(data) {
            case .head(let head): status = head.status
            case .body(var chunk): if body.readableBytes < 4096 { body.writeBuffer(&chunk) }
            case .end:
                let message = (try? JSONSerialization.jsonObject(with: Data(body.readableBytesView)) as? [String: Any])?["message"] as? String
                let code = Int(status?.code ?? 0)
                upgraded.fail(Failure(description: "the API server refused the stream (\(code))" + (message.map { ": \($0)" } ?? ""), status: code))
                context.close(promise: nil)
            }
        }

        func errorCaught(context: ChannelHandlerContext, error: any Error) {
            upgraded.fail(Failure(description: "the stream could not be opened: \(error)"))
            context.close(promise: nil)
        }
    }
}

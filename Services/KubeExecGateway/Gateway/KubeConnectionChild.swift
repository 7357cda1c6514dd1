import GatewayRuntime
import GatewaySession
import Logging
import NIOCore
import NIOHTTP1
import NIOSSL

/// Each accepted client connection: TLS, the HTTP/1.1 server pipeline with the exec
/// exec upgrades (WebSocket, SPDY/3.1), and the requests served one after another by this child task.
struct KubeConnectionChild: GatewayChildChannel {
    struct Connection: Sendable {
        let channel: any Channel
        let requests: AsyncStream<KubeHTTPRequest>
        let clientAddress: String
        let exec: KubeExecUpgrade
        let handshake: Handshake
    }

    let environment: GatewayEnvironment
    let tls: NIOSSLContext?
    let proxy: KubeAPIProxy

    func setup(channel: any Channel, logger: Logger, handshake: Handshake) -> EventLoopFuture<Connection> {
        let (stream, continuation) = AsyncStream<KubeHTTPRequest>.makeStream()
        let clientAddress = ClientAddress.describe(channel.remoteAddress)
        let exec = KubeExecUpgrade(environment: environment, clientAddress: clientAddress, logger: logger, handshake: handshake)
        return channel.eventLoop.makeCompletedFuture {
            if let tls { try channel.pipeline.syncOperations.addHandler(NIOSSLServerHandler(context: tls)) }
            let collector = KubeRequestCollector(requests: continuation)
            try channel.pipeline.syncOperations.configureHTTPServerPipeline(
                withServerUpgrade: (upgraders: [exec.upgrader(), exec.spdyUpgrader()], completionHandler: { context in
                    // The exec stream owns the channel now; the request collector is done.
                    context.pipeline.removeHandler(collector, promise: nil)
                }),
                withErrorHandling: true
            )
            try channel.pipeline.syncOperations.addHandler(collector)
            return Connection(channel: channel, requests: stream, clientAddress: clientAddress, exec: exec, handshake: handshake)
        }
    }

    func handle(value connection: Connection, logger: Logger) async {
        let session = KubeAPISession(
            environment: environment, channel: connection.channel, clientAddress: connection.clientAddress, logger: logger, handshake: connection.handshake
        )
        for await request in connection.requests {
            let responder = KubeResponder(channel: connection.channel, keepAlive: request.head.isKeepAlive)
            await proxy.serve(request, responder: responder, session: session, logger: logger)
        }
        await session.end()
        try? await connection.channel.closeFuture.get()
        await connection.exec.finished.withLock({ $0 })?()
    }

    func shutdown(value connection: Connection) {
        connection.channel.close(promise: nil)
    }
}

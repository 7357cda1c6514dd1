import NIOCore
import NIOPosix

/// `gateway-bench relay LISTEN-PORT UPSTREAM-PORT`: a bare TCP relay on SwiftNIO, with the
/// gateway's threading (one event loop per core, both sides of a connection on one loop) and
/// nothing else: no parsing, no policy, no recording. A baseline for the benches: what any
/// proxy built on this stack costs on this machine before it inspects a byte.
enum BareRelay {
    static func run(listenPort: Int, upstreamPort: Int) async throws {
        let group = MultiThreadedEventLoopGroup.singleton
        let server = try await ServerBootstrap(group: group)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .childChannelInitializer { client in
                ClientBootstrap(group: client.eventLoop)
                    .channelOption(.socketOption(.tcp_nodelay), value: 1)
                    .connect(host: "127.0.0.1", port: upstreamPort)
                    .flatMap { upstream in
                        let (toUpstream, toClient) = GlueHandler.pair()
                        do {
                            try client.pipeline.syncOperations.addHandler(toUpstream)
                            try upstream.pipeline.syncOperations.addHandler(toClient)
                        } catch {
                            return client.eventLoop.makeFailedFuture(error)
                        }
                        return client.eventLoop.makeSucceededVoidFuture()
                    }
            }
            .bind(host: "127.0.0.1", port: listenPort).get()
        print("bare relay on 127.0.0.1:\(listenPort) -> 127.0.0.1:\(upstreamPort)")
        try await server.closeFuture.get()
    }
}

/// One side of the bare relay: what it reads is written to its partner's channel, flushed at
/// the end of each read; reading stops while the partner cannot take more.
final class GlueHandler: ChannelDuplexHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private var partner: GlueHandler?
    private var context: ChannelHandlerContext?
    private var pendingRead = false

    static func pair() -> (GlueHandler, GlueHandler) {
        let first = GlueHandler()
        let second = GlueHandler()
        first.partner = second
        second.partner = first
        return (first, second)
    }

    func handlerAdded(context: ChannelHandlerContext) { self.context = context }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
        partner = nil
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        partner?.context?.write(data, promise: nil)
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        partner?.context?.flush()
    }

    func channelInactive(context: ChannelHandlerContext) {
        partner?.context?.close(promise: nil)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        if context.channel.isWritable { partner?.readIfNeeded() }
    }

    func read(context: ChannelHandlerContext) {
        if partner?.context?.channel.isWritable ?? true {
            context.read()
        } else {
            pendingRead = true
        }
    }

    private func readIfNeeded() {
        guard pendingRead, let context else { return }
        pendingRead = false
        context.read()
    }
}

import NIOCore
import PostgresWire

/// The client side of a relay: hands each batch of frames to the core; stops reading from
/// the upstream while the client cannot take more (back-pressure).
final class ClientRelayHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = [PostgresFrame]
    let core: RelayCore

    init(core: RelayCore) {
        self.core = core
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        core.clientRead(unwrapInboundIn(data))
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        core.flushUpstream()
        context.fireChannelReadComplete()
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        core.clientWritabilityChanged(context.channel.isWritable)
        context.fireChannelWritabilityChanged()
    }

    func channelInactive(context: ChannelHandlerContext) {
        core.sideClosed(client: true)
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        core.clientError(error)
    }
}

/// The upstream side of a relay.
final class UpstreamRelayHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = [PostgresFrame]
    let core: RelayCore

    init(core: RelayCore) {
        self.core = core
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        core.upstreamRead(unwrapInboundIn(data))
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        core.flushClient()
        context.fireChannelReadComplete()
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        core.upstreamWritabilityChanged(context.channel.isWritable)
        context.fireChannelWritabilityChanged()
    }

    func channelInactive(context: ChannelHandlerContext) {
        core.sideClosed(client: false)
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        core.upstreamError(error)
    }
}

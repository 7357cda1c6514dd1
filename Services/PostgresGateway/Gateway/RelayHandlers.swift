import NIOCore
import PostgresWire

/// One side of a relay (client or upstream): hands each batch of frames to the core, flushes
/// the other side at the end of a read, and reports writability (back-pressure) and closing.
final class RelayHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = [PostgresFrame]

    enum Side {
        case client, upstream
    }

    let core: RelayCore
    let side: Side

    init(core: RelayCore, side: Side) {
        self.core = core
        self.side = side
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch side {
        case .client: core.clientRead(unwrapInboundIn(data))
        case .upstream: core.upstreamRead(unwrapInboundIn(data))
        }
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        switch side {
        case .client: core.flushUpstream()
        case .upstream: core.flushClient()
        }
        context.fireChannelReadComplete()
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        switch side {
        case .client: core.clientWritabilityChanged(context.channel.isWritable)
        case .upstream: core.upstreamWritabilityChanged(context.channel.isWritable)
        }
        context.fireChannelWritabilityChanged()
    }

    func channelInactive(context: ChannelHandlerContext) {
        core.sideClosed(client: side == .client)
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        switch side {
        case .client: core.clientError(error)
        case .upstream: core.upstreamError(error)
        }
    }
}

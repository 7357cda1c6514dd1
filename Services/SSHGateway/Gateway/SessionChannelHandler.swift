import NIOCore
import NIOSSH

/// One side (the client's channel or the target's) of a session channel relay: hands data and
/// requests to the relay, flushes the other side at the end of a read, reports back-pressure
/// and closing.
final class SessionChannelHandler: ChannelInboundHandler {
    typealias InboundIn = SSHChannelData

    enum Side {
        case client, upstream
    }

    let relay: SessionChannelRelay
    let side: Side

    init(relay: SessionChannelRelay, side: Side) {
        self.relay = relay
        self.side = side
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch side {
        case .client: relay.clientRead(unwrapInboundIn(data))
        case .upstream: relay.upstreamRead(unwrapInboundIn(data))
        }
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        switch side {
        case .client: relay.flushUpstream()
        case .upstream: relay.flushClient()
        }
        context.fireChannelReadComplete()
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        switch side {
        case .client: relay.clientEvent(event)
        case .upstream: relay.upstreamEvent(event)
        }
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        switch side {
        case .client: relay.clientWritabilityChanged(context.channel.isWritable)
        case .upstream: relay.upstreamWritabilityChanged(context.channel.isWritable)
        }
        context.fireChannelWritabilityChanged()
    }

    func channelInactive(context: ChannelHandlerContext) {
        switch side {
        case .client: relay.clientClosed()
        case .upstream: relay.upstreamClosed()
        }
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }
}

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
        framesArrived(unwrapInboundIn(data))
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        readComplete()
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

/// The relay takes its side's batches straight from the frame decoder (see `PostgresFrameBatchSink`);
/// batches that come through the pipeline (before the hand-over) take the same path.
extension RelayHandler: PostgresFrameBatchSink {
    func framesArrived(_ batch: [PostgresFrame]) {
        switch side {
        case .client: core.clientRead(batch)
        case .upstream: core.upstreamRead(batch)
        }
    }

    func readComplete() {
        switch side {
        case .client: core.flushUpstream()
        case .upstream: core.flushClient()
        }
    }
}

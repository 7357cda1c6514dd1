import NIOCore

/// Collects the frames decoded from one socket read into a batch, so a relay handles a
/// pipeline (Bind, Describe, Execute, Sync; or RowDescription, DataRows, CommandComplete,
/// ReadyForQuery) as one unit and writes it with one flush.
public final class FrameBatcher: ChannelInboundHandler, RemovableChannelHandler {
    public typealias InboundIn = PostgresFrame
    public typealias InboundOut = [PostgresFrame]

    private var batch: [PostgresFrame] = []
    private let maximumBatch: Int

    public init(maximumBatch: Int = 256) {
        self.maximumBatch = maximumBatch
    }

    public func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        batch.append(unwrapInboundIn(data))
        if batch.count >= maximumBatch { emit(context) }
    }

    public func channelReadComplete(context: ChannelHandlerContext) {
        emit(context)
        context.fireChannelReadComplete()
    }

    public func channelInactive(context: ChannelHandlerContext) {
        emit(context)
        context.fireChannelInactive()
    }

    private func emit(_ context: ChannelHandlerContext) {
        guard !batch.isEmpty else { return }
        let frames = batch
        batch.removeAll(keepingCapacity: true)
        context.fireChannelRead(wrapInboundOut(frames))
    }
}

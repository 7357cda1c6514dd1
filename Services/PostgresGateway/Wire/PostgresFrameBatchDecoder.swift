import NIOCore

/// Splits what a socket delivers into PostgreSQL frames and hands them on in batches: all
/// the frames of one socket read at once, so a relay handles a pipeline (Bind, Describe,
/// Execute, Sync; or RowDescription, DataRows, CommandComplete, ReadyForQuery) as one unit
/// and writes it with one flush.
///
/// One handler instead of NIO's `ByteToMessageHandler` and a batching handler behind it: a
/// frame costs no pipeline hop and no type-erased box of its own. Frames are slices of the
/// bytes read, not copies. The framing rules and caps are `PostgresFrameDecoder`'s; after
/// the first malformed frame the handler reports the error once and ignores the rest.
public final class PostgresFrameBatchDecoder: ChannelInboundHandler, RemovableChannelHandler {
    public typealias InboundIn = ByteBuffer
    public typealias InboundOut = [PostgresFrame]

    /// Where batches go once a relay has taken the channel over: straight to it, instead of
    /// a pipeline hop and a boxed batch per read (set on the channel's event loop).
    public var sink: (any PostgresFrameBatchSink)?
    private var decoder: PostgresFrameDecoder
    private var buffered: ByteBuffer?
    private var batch: [PostgresFrame] = []
    private var failed = false
    private let maximumBatch: Int

    public init(side: PostgresFrameDecoder.Side, maximumLength: Int = 1 << 30, maximumBatch: Int = 256) {
        self.decoder = PostgresFrameDecoder(side: side, maximumLength: maximumLength)
        self.maximumBatch = maximumBatch
    }

    /// The client is authenticated: the pre-authentication cap on message length is lifted.
    public func authenticated() {
        decoder.authenticated()
    }

    public func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !failed else { return }
        var input = unwrapInboundIn(data)
        if var pending = buffered {
            buffered = nil
            pending.writeBuffer(&input)
            input = pending
        }
        do {
            while let frame = try decoder.decode(buffer: &input) {
                batch.append(frame)
                if batch.count >= maximumBatch { emit(context) }
            }
        } catch {
            failed = true
            emit(context)
            context.fireErrorCaught(error)
            return
        }
        if input.readableBytes > 0 {
            // A partial frame: keep only its bytes. A small rest is copied, so the read buffer
            // it came from (up to the allocator's size) is not held while the frame completes.
            if input.readableBytes <= 4096 {
                var copy = context.channel.allocator.buffer(capacity: input.readableBytes)
                copy.writeImmutableBuffer(input)
                buffered = copy
            } else {
                buffered = input
            }
        }
    }

    public func channelReadComplete(context: ChannelHandlerContext) {
        emit(context)
        if let sink { sink.readComplete() } else { context.fireChannelReadComplete() }
    }

    public func handlerRemoved(context: ChannelHandlerContext) {
        sink = nil
    }

    public func channelInactive(context: ChannelHandlerContext) {
        emit(context)
        context.fireChannelInactive()
    }

    /// Hands the batch on, then keeps its storage for the next one: a receiver that does not
    /// keep the array leaves it unique, so clearing it allocates nothing. Re-entrant safe: the
    /// batch is empty while it is delivered (a receiver may close the channel, which emits).
    private func emit(_ context: ChannelHandlerContext) {
        guard !batch.isEmpty else { return }
        var frames: [PostgresFrame] = []
        swap(&frames, &batch)
        if let sink { sink.framesArrived(frames) } else { context.fireChannelRead(wrapInboundOut(frames)) }
        frames.removeAll(keepingCapacity: true)
        if batch.isEmpty { swap(&frames, &batch) }
    }
}

import NIOCore

/// Encodes frames into one buffer until the next flush, so a batch of frames (a pipeline, or
/// a result set) leaves as one buffer in one write instead of one buffer per frame.
public final class PostgresFrameWriter: ChannelOutboundHandler {
    public typealias OutboundIn = PostgresFrame
    public typealias OutboundOut = ByteBuffer

    private var pending: ByteBuffer?
    private var promises: [EventLoopPromise<Void>] = []
    private var allocator = ByteBufferAllocator()
    /// This handler's place in the pipeline, for `flushNow()`.
    private var context: ChannelHandlerContext?

    public init() {}

    public func handlerAdded(context: ChannelHandlerContext) {
        allocator = context.channel.allocator
        self.context = context
    }

    public func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
    }

    public func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        enqueue(unwrapOutboundIn(data))
        if let promise { promises.append(promise) }
    }

    /// Adds a frame to what the next flush writes, without a trip through the pipeline: for a
    /// relay on this channel's event loop that writes many frames per read. Frames written
    /// through the channel and enqueued here leave in the order they were given.
    public func enqueue(_ frame: PostgresFrame) {
        if pending == nil { pending = allocator.buffer(capacity: max(frame.payload.readableBytes + 5, 256)) }
        frame.write(into: &pending!)
    }

    /// Flushes from this handler on, as `channel.flush()` would reach it, without walking the
    /// pipeline from its tail: for the relay that enqueued the frames (on the event loop).
    public func flushNow() {
        if let context { flush(context: context) } else { pending = nil }
    }

    public func flush(context: ChannelHandlerContext) {
        if let buffer = pending {
            pending = nil
            let waiting = promises
            promises.removeAll(keepingCapacity: true)
            let promise: EventLoopPromise<Void>? = waiting.isEmpty ? nil : context.eventLoop.makePromise()
            if let promise {
                promise.futureResult.whenComplete { result in
                    for each in waiting { each.completeWith(result) }
                }
            }
            context.write(wrapOutboundOut(buffer), promise: promise)
        }
        context.flush()
    }

    public func close(context: ChannelHandlerContext, mode: CloseMode, promise: EventLoopPromise<Void>?) {
        if pending != nil { flush(context: context) }
        context.close(mode: mode, promise: promise)
    }
}

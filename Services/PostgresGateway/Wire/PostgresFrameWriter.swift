import NIOCore

/// Encodes frames into one buffer until the next flush, so a batch of frames (a pipeline, or
/// a result set) leaves as one buffer in one write instead of one buffer per frame.
public final class PostgresFrameWriter: ChannelOutboundHandler {
    public typealias OutboundIn = PostgresFrame
    public typealias OutboundOut = ByteBuffer

    /// The frames since the last flush. The socket usually takes a flushed buffer at once,
    /// which leaves it this handler's alone again: it is then cleared and reused in place,
    /// so relaying a message costs no allocation here.
    private var output = ByteBuffer()
    private var promises: [EventLoopPromise<Void>] = []
    /// Set while `output` is being written: a write that fails may close the channel, whose
    /// `close` flushes again, and must not write the same bytes twice (see `flush`).
    private var writing = false
    /// This handler's place in the pipeline, for `flushNow()`.
    private var context: ChannelHandlerContext?

    /// Larger buffers (after a large result) are not kept for reuse: an idle session holds
    /// at most this much here, per side.
    static let keptCapacity = 8 * 1024

    public init() {}

    public func handlerAdded(context: ChannelHandlerContext) {
        output = context.channel.allocator.buffer(capacity: 256)
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
        frame.write(into: &output)
    }

    /// Flushes from this handler on, as `channel.flush()` would reach it, without walking the
    /// pipeline from its tail: for the relay that enqueued the frames (on the event loop).
    public func flushNow() {
        if let context { flush(context: context) } else { output.clear() }
    }

    public func flush(context: ChannelHandlerContext) {
        guard output.readableBytes > 0, !writing else {
            context.flush()
            return
        }
        writing = true
        defer { writing = false }
        // Frames enqueued while a write is under way (by a handler that a write's failure or a
        // writability change reaches) go out in a further round, in order.
        while output.readableBytes > 0 {
            let end = output.writerIndex
            context.write(wrapOutboundOut(output), promise: takePromises(context))
            context.flush()
            if output.writerIndex == end {
                // Still shared when the socket did not take it all: then clearing allocates a
                // fresh buffer, and the written one stays with the channel.
                if output.capacity > Self.keptCapacity {
                    output = context.channel.allocator.buffer(capacity: 256)
                } else {
                    output.clear()
                }
            } else {
                output.moveReaderIndex(to: end)
            }
        }
    }

    /// One promise for the writes waiting since the last flush (nil when none waits).
    private func takePromises(_ context: ChannelHandlerContext) -> EventLoopPromise<Void>? {
        guard !promises.isEmpty else { return nil }
        let waiting = promises
        promises.removeAll()
        let combined = context.eventLoop.makePromise(of: Void.self)
        combined.futureResult.whenComplete { result in
            for each in waiting { each.completeWith(result) }
        }
        return combined
    }

    public func close(context: ChannelHandlerContext, mode: CloseMode, promise: EventLoopPromise<Void>?) {
        if output.readableBytes > 0 { flush(context: context) }
        context.close(mode: mode, promise: promise)
    }
}

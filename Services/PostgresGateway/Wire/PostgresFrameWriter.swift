import NIOCore

/// Encodes frames into one buffer until the next flush, so a batch of frames (a pipeline, or
/// a result set) leaves as one buffer in one write instead of one buffer per frame.
public final class PostgresFrameWriter: ChannelOutboundHandler {
    public typealias OutboundIn = PostgresFrame
    public typealias OutboundOut = ByteBuffer

    private var pending: ByteBuffer?
    private var promises: [EventLoopPromise<Void>] = []

    public init() {}

    public func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        let frame = unwrapOutboundIn(data)
        if pending == nil { pending = context.channel.allocator.buffer(capacity: frame.payload.readableBytes + 5) }
        frame.write(into: &pending!)
        if let promise { promises.append(promise) }
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

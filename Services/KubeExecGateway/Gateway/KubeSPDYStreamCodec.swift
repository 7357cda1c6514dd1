import KubeExecGatewayCore
import NIOCore

/// An exec stream's SPDY/3.1 connection as `KubeStreamEvent`s and back: the connection's bytes
/// are read into frames (`SPDYFrame`, each bounded), `SPDYStreamSession` answers what it must
/// (SYN_REPLY, PING) and says what the frames mean. A connection that breaks the protocol
/// (a frame too long, a header block that does not inflate, another SPDY version) is closed.
final class KubeSPDYStreamCodec: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = KubeStreamEvent
    typealias OutboundIn = KubeStreamEvent
    typealias OutboundOut = ByteBuffer

    let session: SPDYStreamSession
    private var buffer = ByteBuffer()
    private var broken = false

    init(session: SPDYStreamSession) {
        self.session = session
    }

    /// A client opens its streams as soon as it is in the pipeline.
    func handlerAdded(context: ChannelHandlerContext) {
        guard session.role == .client else { return }
        do {
            write(try session.openStreams(), context: context, promise: nil)
            context.flush()
        } catch {
            fail(error, context: context)
        }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !broken else { return }
        var bytes = unwrapInboundIn(data)
        buffer.writeBuffer(&bytes)
        var replied = false
        do {
            while let frame = try SPDYFrame.decode(&buffer) {
                let (reply, events) = try session.receive(frame)
                if !reply.isEmpty {
                    write(reply, context: context, promise: nil)
                    replied = true
                }
                for event in events { context.fireChannelRead(wrapInboundOut(event)) }
            }
        } catch {
            return fail(error, context: context)
        }
        buffer.discardReadBytes()
        if replied { context.flush() }
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        write(session.send(unwrapOutboundIn(data)), context: context, promise: promise)
    }

    private func write(_ frames: [SPDYFrame], context: ChannelHandlerContext, promise: EventLoopPromise<Void>?) {
        guard !frames.isEmpty else {
            promise?.succeed()
            return
        }
        var out = context.channel.allocator.buffer(capacity: frames.count * 16)
        for frame in frames { frame.encode(into: &out) }
        context.write(wrapOutboundOut(out), promise: promise)
    }

    private func fail(_ error: any Error, context: ChannelHandlerContext) {
        broken = true
        context.fireErrorCaught(error)
        context.close(promise: nil)
    }
}

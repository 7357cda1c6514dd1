import NIOCore
import NIOWebSocket

/// A WebSocket whose binary messages carry one byte stream (port forwarding tunnelled as
/// `SPDY/3.1+portforward.k8s.io`): messages in are their bytes, bytes out one binary message
/// per write (masked as a client). Pings are answered here; a close is answered and ends the
/// connection; a text message is not part of the stream and ends it.
final class KubeWebSocketBytesCodec: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = WebSocketFrame
    typealias InboundOut = ByteBuffer
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = WebSocketFrame

    let masks: Bool

    init(isClient: Bool) {
        masks = isClient
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let message = unwrapInboundIn(data)
        switch message.opcode {
        case .binary, .continuation:
            context.fireChannelRead(wrapInboundOut(message.unmaskedData))
        case .ping:
            context.writeAndFlush(wrapOutboundOut(frame(.pong, message.unmaskedData)), promise: nil)
        case .pong:
            break
        default:
            // A close (answered), or a text message this stream does not carry.
            let channel = context.channel
            context.writeAndFlush(wrapOutboundOut(frame(.connectionClose, ByteBuffer(integer: UInt16(1000))))).whenComplete { _ in channel.close(promise: nil) }
        }
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        context.write(wrapOutboundOut(frame(.binary, unwrapOutboundIn(data))), promise: promise)
    }

    private func frame(_ opcode: WebSocketOpcode, _ data: ByteBuffer) -> WebSocketFrame {
        WebSocketFrame(fin: true, opcode: opcode, maskKey: masks ? .random() : nil, data: data)
    }
}

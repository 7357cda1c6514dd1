import KubeExecGatewayCore
import NIOCore
import NIOWebSocket

/// An exec stream's WebSocket messages as `KubeStreamEvent`s and back, in the negotiated
/// subprotocol (channel byte, base64 text for the base64 variants, v5's close signal). Pings
/// are answered here; a close from the peer is `.finish`, and `.finish` written is a close
/// (status 1000). As a client (towards the API server) every frame is masked, as RFC 6455
/// requires of clients. A message that does not decode ends the stream with the reason
/// (`errorCaught`): a stream the gateway cannot read is not passed on in part.
final class KubeWebSocketStreamCodec: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = WebSocketFrame
    typealias InboundOut = KubeStreamEvent
    typealias OutboundIn = KubeStreamEvent
    typealias OutboundOut = WebSocketFrame

    let kind: KubeStreamProtocol
    let masks: Bool

    init(kind: KubeStreamProtocol, isClient: Bool) {
        self.kind = kind
        self.masks = isClient
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let message = unwrapInboundIn(data)
        switch message.opcode {
        case .ping:
            context.writeAndFlush(wrapOutboundOut(frame(.pong, message.unmaskedData)), promise: nil)
        case .connectionClose:
            context.fireChannelRead(wrapInboundOut(.finish))
        case .text, .binary:
            let decoded: KubeStreamFrame
            do {
                decoded = try KubeStreamFrame.decode(Array(message.unmaskedData.readableBytesView), text: message.opcode == .text, protocol: kind)
            } catch {
                return context.fireErrorCaught(error)
            }
            if decoded.channel == KubeStreamChannel.close.rawValue {
                guard let closed = decoded.payload.first.flatMap(KubeStreamChannel.init(rawValue:)) else { return }
                context.fireChannelRead(wrapInboundOut(.end(closed)))
            } else {
                context.fireChannelRead(wrapInboundOut(.data(decoded)))
            }
        case .continuation:
            // The aggregator joins fragments: a lone continuation is a broken stream.
            context.fireErrorCaught(KubeStreamFrame.DecodingError.badChannel(0))
        default:
            break
        }
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        switch unwrapOutboundIn(data) {
        case .data(let stream):
            let (data, text) = stream.encode(protocol: kind)
            context.write(wrapOutboundOut(frame(text ? .text : .binary, data)), promise: promise)
        case .end(let channel) where kind.hasCloseSignal:
            let (data, _) = KubeStreamFrame(.close, [channel.rawValue]).encode(protocol: kind)
            context.write(wrapOutboundOut(frame(.binary, data)), promise: promise)
        case .finish:
            context.write(wrapOutboundOut(frame(.connectionClose, ByteBuffer(integer: UInt16(1000)))), promise: promise)
        case .end, .ready:
            // Protocols before v5 cannot say "this channel is done": the stream stays open.
            promise?.succeed()
        }
    }

    private func frame(_ opcode: WebSocketOpcode, _ data: ByteBuffer) -> WebSocketFrame {
        WebSocketFrame(fin: true, opcode: opcode, maskKey: masks ? .random() : nil, data: data)
    }
}

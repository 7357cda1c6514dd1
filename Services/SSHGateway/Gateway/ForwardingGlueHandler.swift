import NIOCore
import NIOSSH

/// Joins a client's `direct-tcpip` channel to the target's: bytes, EOF, close and
/// back-pressure pass straight through. Used only where `allow_port_forwarding` is on.
final class ForwardingGlueHandler: ChannelInboundHandler {
    typealias InboundIn = SSHChannelData

    private var partner: ForwardingGlueHandler?
    private var context: ChannelHandlerContext?
    private var pendingFlush = false
    /// Called for every read (the connection's idle clock).
    private let onActivity: () -> Void

    init(onActivity: @escaping () -> Void) {
        self.onActivity = onActivity
    }

    static func pair(onActivity: @escaping () -> Void) -> (ForwardingGlueHandler, ForwardingGlueHandler) {
        let first = ForwardingGlueHandler(onActivity: onActivity)
        let second = ForwardingGlueHandler(onActivity: onActivity)
        first.partner = second
        second.partner = first
        return (first, second)
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
        partner = nil
    }

    private func partnerWrite(_ data: SSHChannelData) {
        context?.write(NIOAny(data), promise: nil)
        pendingFlush = true
    }

    private func partnerFlush() {
        if pendingFlush {
            pendingFlush = false
            context?.flush()
        }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        onActivity()
        partner?.partnerWrite(unwrapInboundIn(data))
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        partner?.partnerFlush()
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let event = event as? ChannelEvent, event == .inputClosed {
            partner?.partnerFlush()
            partner?.context?.close(mode: .output, promise: nil)
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        partner?.partnerFlush()
        partner?.context?.close(promise: nil)
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        let writable = context.channel.isWritable
        if let other = partner?.context?.channel {
            other.setOption(ChannelOptions.autoRead, value: writable).whenComplete { _ in }
            if writable { other.read() }
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }
}

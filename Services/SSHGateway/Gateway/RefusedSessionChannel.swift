import NIOCore
import NIOSSH

/// The session channel of a connection whose token was accepted but whose session could not
/// start (the state store is unreachable, the recordings disk is full: `SessionRefusal`).
/// Password authentication has no way to carry a reason, so the client is let in this far to
/// hear it: its exec, shell or subsystem request is answered with the reason on stderr and
/// exit status 1, then the channel closes. Nothing reaches the target.
final class RefusedSessionChannel: ChannelInboundHandler {
    typealias InboundIn = SSHChannelData
    typealias OutboundOut = SSHChannelData

    static let exitStatus = 1

    let message: String
    private var answered = false

    init(message: String) {
        self.message = message
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        // What the client types into a refused session goes nowhere.
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        switch event {
        case let request as SSHChannelRequestEvent.ExecRequest:
            refuse(context, wantReply: request.wantReply)
        case let request as SSHChannelRequestEvent.ShellRequest:
            refuse(context, wantReply: request.wantReply)
        case let request as SSHChannelRequestEvent.SubsystemRequest:
            refuse(context, wantReply: request.wantReply)
        case let request as SSHChannelRequestEvent.PseudoTerminalRequest:
            if request.wantReply { context.triggerUserOutboundEvent(ChannelSuccessEvent(), promise: nil) }
        case let request as SSHChannelRequestEvent.EnvironmentRequest:
            if request.wantReply { context.triggerUserOutboundEvent(ChannelFailureEvent(), promise: nil) }
        case let event as ChannelEvent where event == .inputClosed:
            break
        default:
            context.fireUserInboundEventTriggered(event)
        }
    }

    private func refuse(_ context: ChannelHandlerContext, wantReply: Bool) {
        guard !answered else { return }
        answered = true
        if wantReply { context.triggerUserOutboundEvent(ChannelSuccessEvent(), promise: nil) }
        var text = context.channel.allocator.buffer(capacity: message.utf8.count + 20)
        text.writeString("access gateway: \(message)\r\n")
        context.write(wrapOutboundOut(SSHChannelData(type: .stdErr, data: .byteBuffer(text))), promise: nil)
        context.triggerUserOutboundEvent(SSHChannelRequestEvent.ExitStatus(exitStatus: Self.exitStatus), promise: nil)
        context.writeAndFlush(wrapOutboundOut(SSHChannelData(type: .channel, data: .byteBuffer(ByteBuffer()))), promise: nil)
        context.close(mode: .output, promise: nil)
        context.close(promise: nil)
    }
}

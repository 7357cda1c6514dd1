import NIOCore
import NIOSSH

/// Completes `ready` when the target accepted the gateway's key, or fails it with the first
/// error (host key mismatch, refused key, connection lost) so the client hears why.
final class UpstreamReadyHandler: ChannelInboundHandler {
    typealias InboundIn = Any

    let ready: EventLoopPromise<Void>
    private var done = false

    init(ready: EventLoopPromise<Void>) {
        self.ready = ready
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if event is UserAuthSuccessEvent, !done {
            done = true
            ready.succeed(())
        }
        context.fireUserInboundEventTriggered(event)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        if !done {
            done = true
            ready.fail(error)
        }
        context.close(promise: nil)
    }

    func channelInactive(context: ChannelHandlerContext) {
        fail(SSHGatewayFailure("the target closed the connection during authentication"))
        context.fireChannelInactive()
    }

    /// NIOSSHHandler does not pass channelInactive on, so the connection's close future (and a
    /// handshake deadline) also end the wait. Event loop only.
    func fail(_ failure: SSHGatewayFailure) {
        guard !done else { return }
        done = true
        ready.fail(failure)
    }
}

import NIOCore
import NIOSSL
import NIOTLS

/// Reads the single byte a server answers an SSLRequest with (`S` or `N`). Any further
/// byte before the TLS handshake is a protocol violation (CVE-2021-23222): refused.
final class SSLResponseReader: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    static let name = "ssl-response"

    let answer: EventLoopPromise<UInt8>

    init(answer: EventLoopPromise<UInt8>) {
        self.answer = answer
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let buffer = unwrapInboundIn(data)
        guard buffer.readableBytes == 1, let byte = buffer.getInteger(at: buffer.readerIndex, as: UInt8.self) else {
            answer.fail(UpstreamConnection.Failure(code: "08006", message: "the upstream answered the SSL request with unexpected data"))
            return
        }
        answer.succeed(byte)
    }

    func channelInactive(context: ChannelHandlerContext) {
        answer.fail(UpstreamConnection.Failure(code: "08006", message: "the upstream closed the connection during the SSL request"))
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        answer.fail(error)
    }
}

/// Completes when the TLS handshake does, so a bad certificate is reported as such rather
/// than as a closed channel at the first write.
final class TLSHandshakeWaiter: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    static let name = "tls-handshake"

    let done: EventLoopPromise<Void>

    init(done: EventLoopPromise<Void>) {
        self.done = done
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if case .handshakeCompleted? = event as? TLSUserEvent { done.succeed() }
        context.fireUserInboundEventTriggered(event)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        done.fail(error)
        context.fireErrorCaught(error)
    }

    func channelInactive(context: ChannelHandlerContext) {
        done.fail(ChannelError.ioOnClosedChannel)
        context.fireChannelInactive()
    }
}

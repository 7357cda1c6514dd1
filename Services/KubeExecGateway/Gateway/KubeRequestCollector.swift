import NIOCore
import NIOHTTP1

/// Collects each HTTP request (head and body, up to `maximumBody`) and hands it to the
/// connection's serving task, one after another, as HTTP/1.1 sends them. Reading pauses while a
/// request is being served (no pipelined backlog builds up).
final class KubeRequestCollector: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart

    static let maximumBody = 8 << 20
    let requests: AsyncStream<KubeHTTPRequest>.Continuation
    private var head: HTTPRequestHead?
    private var body = ByteBuffer()
    private var tooLarge = false

    init(requests: AsyncStream<KubeHTTPRequest>.Continuation) {
        self.requests = requests
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            self.head = head
            body.clear()
            tooLarge = false
        case .body(var chunk):
            if body.readableBytes + chunk.readableBytes > Self.maximumBody { tooLarge = true } else { body.writeBuffer(&chunk) }
        case .end:
            guard let head else { return }
            self.head = nil
            requests.yield(KubeHTTPRequest(head: head, body: body, bodyTooLarge: tooLarge))
        }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        // Upgraded to an exec stream: no more requests on this connection.
        requests.finish()
    }

    func channelInactive(context: ChannelHandlerContext) {
        requests.finish()
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }
}

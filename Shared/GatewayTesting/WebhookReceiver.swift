import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix
import Synchronization

/// An HTTP receiver on loopback that records every POST (for webhook tests).
public final class WebhookReceiver: Sendable {
    public struct Delivery: Sendable {
        public var path: String
        public var headers: [String: String]
        public var body: Data
    }

    public let port: Int
    private let channel: any Channel
    private let box: DeliveryBox

    final class DeliveryBox: Sendable {
        let deliveries = Mutex<[Delivery]>([])
    }

    public var url: String { "http://127.0.0.1:\(port)/hook" }
    public var deliveries: [Delivery] { box.deliveries.withLock { $0 } }

    private init(port: Int, channel: any Channel, box: DeliveryBox) {
        self.port = port
        self.channel = channel
        self.box = box
    }

    public static func start() async throws -> WebhookReceiver {
        let box = DeliveryBox()
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.pipeline.configureHTTPServerPipeline().flatMap {
                    channel.pipeline.addHandler(ReceiverHandler(box: box))
                }
            }
            .bind(host: "127.0.0.1", port: 0)
            .get()
        return WebhookReceiver(port: channel.localAddress?.port ?? 0, channel: channel, box: box)
    }

    public func stop() async {
        try? await channel.close()
    }

    /// Waits until `count` deliveries arrived (up to `timeout`).
    public func waitFor(_ count: Int, timeout: Duration = .seconds(10)) async -> [Delivery] {
        let deadline = ContinuousClock.now + timeout
        while deliveries.count < count, ContinuousClock.now < deadline {
            try? await Task.sleep(for: .milliseconds(50))
        }
        return deliveries
    }

    final class ReceiverHandler: ChannelInboundHandler {
        typealias InboundIn = HTTPServerRequestPart
        typealias OutboundOut = HTTPServerResponsePart

        let box: DeliveryBox
        var head: HTTPRequestHead?
        var body = Data()

        init(box: DeliveryBox) {
            self.box = box
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            switch unwrapInboundIn(data) {
            case .head(let head):
                self.head = head
                body = Data()
            case .body(let buffer):
                body.append(contentsOf: buffer.readableBytesView)
            case .end:
                if let head {
                    var headers: [String: String] = [:]
                    for (name, value) in head.headers { headers[name.lowercased()] = value }
                    let delivery = Delivery(path: head.uri, headers: headers, body: body)
                    box.deliveries.withLock { $0.append(delivery) }
                }
                var headers = HTTPHeaders()
                headers.add(name: "Content-Length", value: "0")
                context.write(wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: .noContent, headers: headers))), promise: nil)
                context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
            }
        }
    }
}

import NIOCore

/// Which side of a relay a channel is.
public enum RelaySide: Sendable, Equatable {
    case client, upstream
}

/// What a relay does with its channels' events; `RelaySideHandler` delivers them, one handler
/// per side, on the event loop.
public protocol RelayEndpoint: AnyObject {
    associatedtype Inbound
    func read(_ message: Inbound, from side: RelaySide)
    /// A read ended: what it produced for the other side goes out.
    func readComplete(from side: RelaySide)
    func event(_ event: Any, from side: RelaySide)
    func writabilityChanged(_ writable: Bool, on side: RelaySide)
    func closed(_ side: RelaySide)
    func error(_ error: any Error, on side: RelaySide)
}

extension RelayEndpoint {
    public func event(_ event: Any, from side: RelaySide) {}
}

/// One side of a relay in a channel pipeline: hands reads, events, writability and closing to
/// the endpoint, tagged with the side.
public final class RelaySideHandler<Endpoint: RelayEndpoint>: ChannelInboundHandler, RemovableChannelHandler {
    public typealias InboundIn = Endpoint.Inbound

    public let endpoint: Endpoint
    public let side: RelaySide

    public init(endpoint: Endpoint, side: RelaySide) {
        self.endpoint = endpoint
        self.side = side
    }

    public func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        endpoint.read(unwrapInboundIn(data), from: side)
    }

    public func channelReadComplete(context: ChannelHandlerContext) {
        endpoint.readComplete(from: side)
        context.fireChannelReadComplete()
    }

    public func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        endpoint.event(event, from: side)
    }

    public func channelWritabilityChanged(context: ChannelHandlerContext) {
        endpoint.writabilityChanged(context.channel.isWritable, on: side)
        context.fireChannelWritabilityChanged()
    }

    public func channelInactive(context: ChannelHandlerContext) {
        endpoint.closed(side)
        context.fireChannelInactive()
    }

    public func errorCaught(context: ChannelHandlerContext, error: any Error) {
        endpoint.error(error, on: side)
    }
}

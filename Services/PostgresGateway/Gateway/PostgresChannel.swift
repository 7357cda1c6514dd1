import NIOCore
import NIOPosix
import PostgresWire

/// Reads the frames of the start-up phase, batch by batch, from a `StartupBridge`.
struct FrameReader {
    typealias Iterator = AsyncThrowingStream<[PostgresFrame], any Error>.AsyncIterator

    var iterator: Iterator
    private var pending: ArraySlice<PostgresFrame> = []

    init(_ iterator: Iterator) {
        self.iterator = iterator
    }

    mutating func next() async throws -> PostgresFrame? {
        if let frame = pending.popFirst() { return frame }
        guard let batch = try await iterator.next() else { return nil }
        pending = batch[...]
        return pending.popFirst()
    }
}

/// Writes frames to a channel from async code (start-up phase, refusals).
struct FrameWriter: Sendable {
    let channel: any Channel

    func write(_ frame: PostgresFrame) async throws {
        try await channel.writeAndFlush(frame).get()
    }

    func write(contentsOf frames: [PostgresFrame]) async throws {
        for frame in frames.dropLast() { channel.write(frame, promise: nil) }
        if let last = frames.last { try await channel.writeAndFlush(last).get() }
    }
}

/// Delivers the start-up phase's frames to async code; removed when the relay takes over.
final class StartupBridge: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = [PostgresFrame]
    static let name = "startup-bridge"

    let stream: AsyncThrowingStream<[PostgresFrame], any Error>
    private let continuation: AsyncThrowingStream<[PostgresFrame], any Error>.Continuation
    /// The client's side: a message that breaks the protocol (a length over the cap before
    /// authentication, a truncated start-up) is answered with PostgreSQL's 08P01 before the
    /// connection closes.
    let answersErrors: Bool

    init(answersErrors: Bool = false) {
        (stream, continuation) = AsyncThrowingStream.makeStream()
        self.answersErrors = answersErrors
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        continuation.yield(unwrapInboundIn(data))
    }

    func channelInactive(context: ChannelHandlerContext) {
        continuation.finish()
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        continuation.finish(throwing: error)
        if answersErrors, let protocolError = error as? PostgresProtocolError {
            let answer = BackendMessages.error("08P01", "access gateway: invalid message: \(protocolError)", severity: "FATAL")
            context.writeAndFlush(NIOAny(answer)).whenComplete { [channel = context.channel] _ in channel.close(promise: nil) }
            return
        }
        context.close(promise: nil)
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        continuation.finish()
    }
}

enum PostgresChannel {
    /// Adds the frame codec for one side and a start-up bridge.
    static func configure(_ channel: any Channel, side: PostgresFrameDecoder.Side) throws -> StartupBridge {
        let bridge = StartupBridge(answersErrors: side == .client)
        try channel.pipeline.syncOperations.addHandler(PostgresFrameBatchDecoder(side: side))
        try channel.pipeline.syncOperations.addHandler(PostgresFrameWriter())
        try channel.pipeline.syncOperations.addHandler(bridge, name: StartupBridge.name)
        return bridge
    }
}

/// A channel in its start-up phase: the bridge's stream to read from, the channel to write to.
struct StartupChannel: Sendable {
    let channel: any Channel
    let stream: AsyncThrowingStream<[PostgresFrame], any Error>

    /// Ends the start-up phase: later frames go to the handlers added after the bridge.
    static func removeBridge(from channel: any Channel) {
        channel.pipeline.removeHandler(name: StartupBridge.name, promise: nil)
    }

    var writer: FrameWriter { FrameWriter(channel: channel) }
}

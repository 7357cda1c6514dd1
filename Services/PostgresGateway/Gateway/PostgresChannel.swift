import NIOCore
import NIOPosix
import PostgresWire

/// An async channel of PostgreSQL frames: inbound in batches (one per socket read).
public typealias PostgresAsyncChannel = NIOAsyncChannel<[PostgresFrame], PostgresFrame>

/// Reads frames one at a time or batch by batch from a channel's inbound stream.
struct FrameReader {
    typealias Iterator = NIOAsyncChannelInboundStream<[PostgresFrame]>.AsyncIterator

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

    mutating func nextBatch() async throws -> [PostgresFrame]? {
        if !pending.isEmpty {
            defer { pending = [] }
            return Array(pending)
        }
        return try await iterator.next()
    }
}

enum PostgresChannel {
    /// Adds the frame codec for one side and wraps the channel.
    static func wrap(_ channel: any Channel, side: PostgresFrameDecoder.Side) throws -> PostgresAsyncChannel {
        try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(PostgresFrameDecoder(side: side)))
        try channel.pipeline.syncOperations.addHandler(FrameBatcher())
        try channel.pipeline.syncOperations.addHandler(MessageToByteHandler(PostgresFrameEncoder()))
        return try PostgresAsyncChannel(
            wrappingChannelSynchronously: channel,
            configuration: .init(backPressureStrategy: .init(lowWatermark: 8, highWatermark: 64))
        )
    }
}

import NIOCore
import NIOPosix
import PostgresWire

/// An async channel of PostgreSQL frames.
public typealias PostgresAsyncChannel = NIOAsyncChannel<PostgresFrame, PostgresFrame>

enum PostgresChannel {
    /// Adds the frame codec for one side and wraps the channel.
    static func wrap(_ channel: any Channel, side: PostgresFrameDecoder.Side) throws -> PostgresAsyncChannel {
        try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(PostgresFrameDecoder(side: side)))
        try channel.pipeline.syncOperations.addHandler(MessageToByteHandler(PostgresFrameEncoder()))
        return try PostgresAsyncChannel(
            wrappingChannelSynchronously: channel,
            configuration: .init(backPressureStrategy: .init(lowWatermark: 8, highWatermark: 64))
        )
    }
}

import NIOCore
import NIOEmbedded
import PostgresWire
import Testing

@Suite("PostgreSQL frame batch decoder (in a channel)")
struct PostgresFrameBatchDecoderTests {
    /// Records what reaches the end of the pipeline: batches, read-completes and errors.
    final class Collector: ChannelInboundHandler {
        typealias InboundIn = [PostgresFrame]
        var batches: [[PostgresFrame]] = []
        var errors: [any Error] = []
        func channelRead(context: ChannelHandlerContext, data: NIOAny) { batches.append(unwrapInboundIn(data)) }
        func errorCaught(context: ChannelHandlerContext, error: any Error) { errors.append(error) }
    }

    func channel(side: PostgresFrameDecoder.Side = .server, maximumBatch: Int = 256) throws -> (EmbeddedChannel, Collector) {
        let collector = Collector()
        let channel = EmbeddedChannel()
        try channel.pipeline.syncOperations.addHandler(PostgresFrameBatchDecoder(side: side, maximumBatch: maximumBatch))
        try channel.pipeline.syncOperations.addHandler(collector)
        return (channel, collector)
    }

    func result(rows: Int) -> [PostgresFrame] {
        var frames = [PostgresFrame(type: PostgresMessageType.rowDescription, payload: ByteBuffer(bytes: [0, 1] + Array("n\0".utf8) + [UInt8](repeating: 0, count: 18)))]
        for row in 0..<rows {
            var payload = ByteBuffer()
            payload.writeInteger(UInt16(1))
            let text = "row \(row) with some text"
            payload.writeInteger(Int32(text.utf8.count))
            payload.writeString(text)
            frames.append(PostgresFrame(type: PostgresMessageType.dataRow, payload: payload))
        }
        frames.append(PostgresFrame(type: PostgresMessageType.commandComplete, payload: ByteBuffer(string: "SELECT \(rows)\0")))
        frames.append(PostgresFrame(type: PostgresMessageType.readyForQuery, payload: ByteBuffer(bytes: [UInt8(ascii: "I")])))
        return frames
    }

    func encode(_ frames: [PostgresFrame]) -> ByteBuffer {
        var buffer = ByteBuffer()
        for frame in frames { frame.write(into: &buffer) }
        return buffer
    }

    @Test("every chunking of the stream gives the same frames, in batches of at most one read", arguments: [1, 2, 5, 9, 100, 4097, 1 << 20])
    func chunked(_ chunk: Int) throws {
        let (channel, collector) = try channel()
        let frames = result(rows: 300)
        var bytes = encode(frames)
        var reads = 0
        while bytes.readableBytes > 0 {
            let piece = bytes.readSlice(length: min(chunk, bytes.readableBytes))!
            try channel.writeInbound(piece)
            channel.pipeline.fireChannelReadComplete()
            reads += 1
        }
        #expect(collector.batches.flatMap { $0 } == frames)
        #expect(collector.batches.allSatisfy { !$0.isEmpty })
        #expect(collector.batches.allSatisfy { $0.count <= 256 })
        #expect(collector.batches.count <= reads + frames.count / 256)
        #expect(collector.errors.isEmpty)
    }

    @Test("a read of many frames is handed on in batches of at most maximumBatch, in order")
    func batchCap() throws {
        let (channel, collector) = try channel(maximumBatch: 16)
        let frames = result(rows: 100)
        try channel.writeInbound(encode(frames))
        channel.pipeline.fireChannelReadComplete()
        #expect(collector.batches.map(\.count).max() == 16)
        #expect(collector.batches.flatMap { $0 } == frames)
    }

    @Test("frames completed before a malformed one are delivered; the error is reported once and later bytes ignored")
    func malformed() throws {
        let (channel, collector) = try channel()
        var bytes = encode(Array(result(rows: 2).prefix(2)))
        bytes.writeInteger(PostgresMessageType.dataRow)
        bytes.writeInteger(UInt32(2))   // shorter than the length word itself
        try channel.writeInbound(bytes)
        try channel.writeInbound(encode(result(rows: 1)))
        channel.pipeline.fireChannelReadComplete()
        #expect(collector.batches.flatMap { $0 }.count == 2)
        #expect(collector.errors.count == 1)
        #expect(collector.errors.first as? PostgresProtocolError != nil)
    }

    @Test("a client's start-up message, then typed frames in the same read")
    func clientStartup() throws {
        let (channel, collector) = try channel(side: .client)
        let frames = [
            StartupRequest.startupFrame(parameters: [("user", "agent"), ("database", "orders")]),
            FrontendMessages.password("token"), FrontendMessages.query("SELECT 1"),
        ]
        try channel.writeInbound(encode(frames))
        channel.pipeline.fireChannelReadComplete()
        #expect(collector.batches == [frames])
    }

    @Test("a partial frame at the end of the connection is dropped, the complete ones are delivered")
    func partialAtClose() throws {
        let (channel, collector) = try channel()
        var bytes = encode(result(rows: 1))
        bytes.moveWriterIndex(to: bytes.writerIndex - 3)
        try channel.writeInbound(bytes)
        _ = try? channel.finish()
        #expect(collector.batches.flatMap { $0 } == Array(result(rows: 1).prefix(3)))
        #expect(collector.errors.isEmpty)
    }

    /// Records what a relay taking batches straight from the decoder receives.
    final class Sink: PostgresFrameBatchSink {
        var events: [String] = []
        var frames: [PostgresFrame] = []
        func framesArrived(_ batch: [PostgresFrame]) {
            events.append("batch \(batch.count)")
            frames += batch
        }
        func readComplete() { events.append("complete") }
    }

    @Test("with a sink, batches and read-completes go to it, not down the pipeline; errors still do")
    func sinkTakesBatches() throws {
        let (channel, collector) = try channel(maximumBatch: 100)
        let sink = Sink()
        try channel.pipeline.syncOperations.handler(type: PostgresFrameBatchDecoder.self).sink = sink
        let frames = result(rows: 150)
        try channel.writeInbound(encode(frames))  // a read and its read-complete
        #expect(sink.frames == frames)
        #expect(sink.events == ["batch 100", "batch 53", "complete"])
        #expect(collector.batches.isEmpty)
        // A malformed frame: what came before it reaches the sink, the error the pipeline.
        var bad = encode(result(rows: 1))
        bad.writeInteger(PostgresMessageType.dataRow)
        bad.writeInteger(Int32(2))
        _ = try? channel.writeInbound(bad)
        #expect(sink.frames.count == frames.count + 4)
        #expect(collector.errors.count == 1)
        // Removed from the pipeline, the decoder lets go of its sink.
        let decoder = try channel.pipeline.syncOperations.handler(type: PostgresFrameBatchDecoder.self)
        _ = channel.pipeline.syncOperations.removeHandler(decoder)
        channel.embeddedEventLoop.run()
        #expect(decoder.sink == nil)
    }

    /// A sink that closes the channel when its first batch arrives, as a relay does on a
    /// protocol violation: closing makes the decoder hand on what it holds, re-entrantly.
    final class ClosingSink: PostgresFrameBatchSink {
        let channel: EmbeddedChannel
        var batches: [[PostgresFrame]] = []
        init(channel: EmbeddedChannel) { self.channel = channel }
        func framesArrived(_ batch: [PostgresFrame]) {
            batches.append(batch)
            if batches.count == 1 { _ = channel.close() }
        }
        func readComplete() {}
    }

    @Test("a sink that closes the channel while taking a batch gets every frame once")
    func reentrantClose() throws {
        let (channel, collector) = try channel(maximumBatch: 3)
        let sink = ClosingSink(channel: channel)
        try channel.pipeline.syncOperations.handler(type: PostgresFrameBatchDecoder.self).sink = sink
        let frames = result(rows: 5)
        _ = try? channel.writeInbound(encode(frames))
        #expect(sink.batches.first == Array(frames.prefix(3)))
        // Whatever is delivered after the close (the sink, then the pipeline), nothing twice and nothing out of order.
        let delivered = sink.batches.flatMap { $0 } + collector.batches.flatMap { $0 }
        #expect(delivered == Array(frames.prefix(delivered.count)))
    }

    @Test("batches handed on keep their frames while the decoder reuses its array for the next read")
    func batchesOutliveReuse() throws {
        let (channel, _) = try channel()
        let sink = Sink()
        try channel.pipeline.syncOperations.handler(type: PostgresFrameBatchDecoder.self).sink = sink
        var expected: [PostgresFrame] = []
        for rows in [3, 0, 7, 1] {
            let frames = result(rows: rows)
            expected += frames
            try channel.writeInbound(encode(frames))
        }
        #expect(sink.frames == expected)
        #expect(sink.events == ["batch 6", "complete", "batch 3", "complete", "batch 10", "complete", "batch 4", "complete"])
    }
}

import NIOConcurrencyHelpers
import NIOCore
import NIOEmbedded
import PostgresWire
import Testing

@Suite("PostgreSQL frame writer (in a channel)")
struct PostgresFrameWriterTests {
    func frame(_ text: String) -> PostgresFrame {
        FrontendMessages.query(text)
    }

    func encoded(_ frames: [PostgresFrame]) -> ByteBuffer {
        var buffer = ByteBuffer()
        for frame in frames { frame.write(into: &buffer) }
        return buffer
    }

    @Test("each flush writes the frames since the last one as one buffer; a buffer the channel still holds is never changed")
    func flushesKeepWrittenBuffers() throws {
        let channel = EmbeddedChannel()
        let writer = PostgresFrameWriter()
        try channel.pipeline.syncOperations.addHandler(writer)
        // The embedded channel keeps every written buffer, as a socket that did not take it all would.
        let rounds = [["SELECT 1", "SELECT 2"], ["SELECT 3"], [String(repeating: "x", count: 100_000)], ["SELECT 4", "SELECT 5", "SELECT 6"]]
        for texts in rounds {
            for text in texts { writer.enqueue(frame(text)) }
            writer.flushNow()
        }
        for texts in rounds {
            #expect(try channel.readOutbound(as: ByteBuffer.self) == encoded(texts.map(frame)))
        }
        #expect(try channel.readOutbound(as: ByteBuffer.self) == nil)
        writer.flushNow()
        #expect(try channel.readOutbound(as: ByteBuffer.self) == nil, "nothing enqueued, nothing written")
    }

    /// Between the writer and the socket: on the first write it sees, enqueues another frame
    /// with the writer, as a handler reached by a write's failure or a writability change may.
    final class ReentrantEnqueuer: ChannelOutboundHandler {
        typealias OutboundIn = ByteBuffer
        weak var writer: PostgresFrameWriter?
        var done = false
        func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
            context.write(data, promise: promise)
            if !done {
                done = true
                writer?.enqueue(FrontendMessages.query("enqueued during the write"))
                writer?.flushNow()
            }
        }
    }

    @Test("a frame enqueued while a flush is writing goes out after it, not lost and not twice")
    func enqueueDuringWrite() throws {
        let channel = EmbeddedChannel()
        let writer = PostgresFrameWriter()
        let reentrant = ReentrantEnqueuer()
        reentrant.writer = writer
        try channel.pipeline.syncOperations.addHandler(reentrant)
        try channel.pipeline.syncOperations.addHandler(writer)
        writer.enqueue(frame("first"))
        writer.flushNow()
        #expect(try channel.readOutbound(as: ByteBuffer.self) == encoded([frame("first")]))
        #expect(try channel.readOutbound(as: ByteBuffer.self) == encoded([frame("enqueued during the write")]))
        #expect(try channel.readOutbound(as: ByteBuffer.self) == nil)
        writer.enqueue(frame("next"))
        writer.flushNow()
        #expect(try channel.readOutbound(as: ByteBuffer.self) == encoded([frame("next")]))
    }

    @Test("frames written through the pipeline and enqueued directly leave in order; write promises complete on the flush")
    func pipelineAndDirectWritesInOrder() throws {
        let channel = EmbeddedChannel()
        let writer = PostgresFrameWriter()
        try channel.pipeline.syncOperations.addHandler(writer)
        let written = channel.write(frame("first"))
        let completed = NIOLockedValueBox(false)
        written.whenComplete { _ in completed.withLockedValue { $0 = true } }
        writer.enqueue(frame("second"))
        channel.write(frame("third"), promise: nil)
        #expect(completed.withLockedValue { $0 } == false)
        channel.flush()
        try written.wait()
        #expect(try channel.readOutbound(as: ByteBuffer.self) == encoded(["first", "second", "third"].map(frame)))
        // A flush with nothing pending still flushes what is behind the writer, and a closing channel writes what is pending.
        writer.enqueue(frame("at close"))
        _ = try? channel.close().wait()
        #expect(try channel.readOutbound(as: ByteBuffer.self) == encoded([frame("at close")]))
    }
}

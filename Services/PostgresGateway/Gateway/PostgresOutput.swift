import GatewaySession
import NIOCore
import PostgresWire

/// One side of a PostgreSQL relay as a relay output: frames go straight into the channel's
/// `PostgresFrameWriter` (no trip through the pipeline per frame) once the relay has taken it
/// over, through the channel before.
final class PostgresOutput: RelayOutput {
    let channel: any Channel
    private var writer: PostgresFrameWriter?

    init(channel: any Channel) {
        self.channel = channel
    }

    /// Takes over the channel's frame writer (on the event loop, as the relay starts).
    func attachWriter() throws {
        writer = try channel.pipeline.syncOperations.handler(type: PostgresFrameWriter.self)
    }

    func enqueue(_ frame: PostgresFrame) {
        if let writer { writer.enqueue(frame) } else { channel.write(frame, promise: nil) }
    }

    func flushNow() {
        if let writer { writer.flushNow() } else { channel.flush() }
    }
}

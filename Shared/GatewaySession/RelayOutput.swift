import NIOCore

/// One side's way out of a relay: messages are enqueued as they are produced and leave at the
/// next flush, so everything a read produced goes out in one write.
public protocol RelayOutput: AnyObject {
    associatedtype Message
    var channel: any Channel { get }
    /// Queues a message for the next flush.
    func enqueue(_ message: Message)
    /// Writes what was queued.
    func flushNow()
}

/// A channel's own write and flush as a relay output; it can remember the last write, for a
/// protocol that must send something after the data already written (an SSH exit status,
/// which NIOSSH sends at once rather than behind data waiting for window space).
public final class ChannelOutput<Message: Sendable>: RelayOutput {
    public let channel: any Channel
    private let tracksWrites: Bool
    private var lastWrite: EventLoopFuture<Void>?

    public init(channel: any Channel, message: Message.Type = Message.self, tracksWrites: Bool = false) {
        self.channel = channel
        self.tracksWrites = tracksWrites
    }

    public func enqueue(_ message: Message) {
        guard tracksWrites else { return channel.write(message, promise: nil) }
        let promise = channel.eventLoop.makePromise(of: Void.self)
        channel.write(message, promise: promise)
        lastWrite = promise.futureResult
    }

    public func flushNow() {
        channel.flush()
    }

    /// Completes once everything written so far left (or failed).
    public func written() -> EventLoopFuture<Void> {
        lastWrite ?? channel.eventLoop.makeSucceededVoidFuture()
    }
}

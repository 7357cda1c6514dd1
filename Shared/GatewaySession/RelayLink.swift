import NIOCore

/// The two sides of a relay on one event loop: writes queued per side and flushed once per
/// read (flush coalescing), back-pressure (a side that cannot take more stops the other side's
/// reads), reads from the client paused while a command is held or queued, and half-close.
/// The target's side may come later (an SSH channel opens once its command is allowed).
///
/// Not `Sendable`: used on the event loop only.
public final class RelayLink<ClientOutput: RelayOutput, UpstreamOutput: RelayOutput> {
    public let client: ClientOutput
    public private(set) var upstream: UpstreamOutput?
    @usableFromInline var clientPending = false
    @usableFromInline var upstreamPending = false
    /// Reads from the client are stopped for a hold or a queue, whatever the back-pressure.
    public private(set) var clientReadsPaused = false

    public init(client: ClientOutput, upstream: UpstreamOutput?) {
        self.client = client
        self.upstream = upstream
    }

    public func attach(upstream: UpstreamOutput) {
        self.upstream = upstream
    }

    @inlinable public func toClient(_ message: ClientOutput.Message) {
        client.enqueue(message)
        clientPending = true
    }

    @inlinable public func toUpstream(_ message: UpstreamOutput.Message) {
        guard let upstream else { return }
        upstream.enqueue(message)
        upstreamPending = true
    }

    @inlinable public func flushClient() {
        if clientPending {
            clientPending = false
            client.flushNow()
        }
    }

    @inlinable public func flushUpstream() {
        if upstreamPending, let upstream {
            upstreamPending = false
            upstream.flushNow()
        }
    }

    // MARK: - Back-pressure

    /// The client can (not) take more: the target's reads follow.
    public func clientWritabilityChanged(_ writable: Bool) {
        guard let upstream else { return }
        Self.setReads(upstream.channel, writable)
    }

    /// The target can (not) take more: the client's reads follow, unless paused.
    public func upstreamWritabilityChanged(_ writable: Bool) {
        guard !clientReadsPaused else { return }
        Self.setReads(client.channel, writable)
    }

    /// Stops the client's reads until `resumeClientReads` (a held command, input queued
    /// while the target's side opens).
    public func pauseClientReads() {
        clientReadsPaused = true
        client.channel.setOption(ChannelOptions.autoRead, value: false).whenComplete { _ in }
    }

    /// Reads on, as far as back-pressure allows.
    public func resumeClientReads() {
        clientReadsPaused = false
        Self.setReads(client.channel, upstream?.channel.isWritable ?? false)
    }

    static func setReads(_ channel: any Channel, _ on: Bool) {
        channel.setOption(ChannelOptions.autoRead, value: on).whenComplete { _ in }
        if on { channel.read() }
    }

    // MARK: - Closing

    /// The client's input ended: the target hears EOF, after what was queued.
    public func closeUpstreamOutput() {
        flushUpstream()
        upstream?.channel.close(mode: .output, promise: nil)
    }

    public func closeUpstream() {
        upstream?.channel.close(promise: nil)
    }
}

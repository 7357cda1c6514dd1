import NIOCore
import Synchronization

/// Bounds the gateway's own start-up with a target (`upstream_timeout`): dialling, TLS and
/// authentication. A target that accepts the connection and then says nothing would otherwise
/// hold the client, already authenticated, for as long as TCP keeps the connection. When the
/// deadline passes, the target's channel is closed, so whatever the start-up awaits fails at
/// once, and `reason(for:)` turns that failure into what happened.
public final class UpstreamDeadline: Sendable {
    private struct State {
        var channel: (any Channel)?
        var expired = false
        var finished = false
        var scheduled: Scheduled<Void>?
    }

    public let seconds: Double
    private let state = Mutex(State())

    public init(seconds: Double, on eventLoop: any EventLoop) {
        self.seconds = seconds
        let scheduled = eventLoop.scheduleTask(in: .milliseconds(Int64(seconds * 1000))) { [weak self] () -> Void in
            guard let self else { return }
            self.expire()
        }
        state.withLock { $0.scheduled = scheduled }
    }

    /// The target's channel, once dialled: closed if the deadline has passed or passes.
    public func attach(_ channel: any Channel) {
        let late = state.withLock { state -> Bool in
            state.channel = channel
            return state.expired
        }
        if late { channel.close(promise: nil) }
    }

    /// The start-up is over (ready or failed on its own): the deadline no longer applies.
    public func finish() {
        let scheduled = state.withLock { state -> Scheduled<Void>? in
            state.finished = true
            state.channel = nil
            return state.scheduled
        }
        scheduled?.cancel()
    }

    public var hasExpired: Bool { state.withLock { $0.expired } }

    /// `message` of a start-up failure, or, when the deadline caused it, the deadline.
    public func reason(for message: String, target: String) -> String {
        hasExpired ? "\(target) did not complete its start-up within \(Self.format(seconds)) (upstream_timeout)" : message
    }

    private func expire() {
        let channel = state.withLock { state -> (any Channel)? in
            guard !state.finished else { return nil }
            state.expired = true
            return state.channel
        }
        channel?.close(promise: nil)
    }

    /// "2 s", "1.5 s".
    public static func format(_ seconds: Double) -> String {
        seconds == seconds.rounded() ? "\(Int(seconds)) s" : "\(seconds) s"
    }
}

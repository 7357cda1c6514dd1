import GatewayAdmin
import Logging
import NIOCore
import Synchronization

/// One accepted connection until it authenticates: it holds a slot of the listener's
/// `UnauthenticatedConnections`, given back when the gateway admits the client
/// (`authenticated()`) or the connection ends; a connection still unauthenticated when
/// `HandshakeLimits.timeout` passes is told so where its protocol can say it (`farewell`) and
/// closed, with one log line.
public final class Handshake: Sendable {
    let channel: any Channel
    let address: String
    let pending: UnauthenticatedConnections
    private struct State {
        var holdsSlot = true
        var farewell: (@Sendable (any Channel, String) -> Void)?
        var deadline: Scheduled<Void>?
    }
    private let state = Mutex(State())

    /// Takes a slot for `channel` and starts its deadline; nil when the listener is full.
    public static func begin(_ channel: any Channel, address: String, pending: UnauthenticatedConnections, metrics: GatewayMetrics?, logger: Logger) -> Handshake? {
        guard pending.admit(address) else {
            logger.warning("connection refused: too many connections have not authenticated", metadata: ["gateway.client": "\(address)"])
            return nil
        }
        let handshake = Handshake(channel: channel, address: address, pending: pending)
        let timeout = pending.limits.timeout
        let deadline = channel.eventLoop.scheduleTask(in: .milliseconds(Int64(timeout * 1000))) { [weak handshake] in
            guard let handshake else { return }
            let (expired, farewell) = handshake.expire()
            guard expired else { return }
            metrics?.handshakeRefused(reason: "timeout")
            logger.warning("connection closed: it did not authenticate in time", metadata: ["gateway.client": "\(address)", "gateway.timeout_s": "\(timeout)"])
            farewell?(channel, "access gateway: the connection did not authenticate within \(Int(timeout)) s")
            channel.close(promise: nil)
        }
        handshake.state.withLock { $0.deadline = deadline }
        channel.closeFuture.whenComplete { [handshake] _ in handshake.release() }
        return handshake
    }

    private init(channel: any Channel, address: String, pending: UnauthenticatedConnections) {
        self.channel = channel
        self.address = address
        self.pending = pending
    }

    /// What the protocol tells a client whose time ran out before the connection closes
    /// (PostgreSQL: an ErrorResponse); set by the gateway's child at setup.
    public func onExpiry(_ farewell: @escaping @Sendable (any Channel, String) -> Void) {
        state.withLock { $0.farewell = farewell }
    }

    /// The client is admitted: its slot is free again and the deadline is off.
    public func authenticated() {
        let deadline = state.withLock { state -> Scheduled<Void>? in
            defer { state.deadline = nil }
            return state.deadline
        }
        deadline?.cancel()
        release()
    }

    /// At the deadline: whether the connection is still unauthenticated, and its farewell.
    private func expire() -> (expired: Bool, farewell: (@Sendable (any Channel, String) -> Void)?) {
        state.withLock { ($0.holdsSlot, $0.farewell) }
    }

    private func release() {
        let held = state.withLock { state -> Bool in
            defer { state.holdsSlot = false }
            return state.holdsSlot
        }
        if held { pending.leave(address) }
    }
}

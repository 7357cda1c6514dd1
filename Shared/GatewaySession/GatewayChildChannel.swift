import Logging
import NIOCore

/// What a gateway does with each accepted connection, for `GatewayListener` (shaped like
/// Hummingbird's `ServerChildChannel`): set the pipeline up on the connection's event loop,
/// then serve it as a child task of the listener until it ends.
public protocol GatewayChildChannel: Sendable {
    associatedtype Value: Sendable
    /// Configures an accepted channel's pipeline (on its event loop). The child calls
    /// `handshake.authenticated()` once the gateway admits the client.
    func setup(channel: any Channel, logger: Logger, handshake: Handshake) -> EventLoopFuture<Value>
    /// Serves the connection until it has ended and its evidence is sealed.
    func handle(value: Value, logger: Logger) async
    /// The gateway is shutting down: end the connection (telling the client why).
    func shutdown(value: Value)
}

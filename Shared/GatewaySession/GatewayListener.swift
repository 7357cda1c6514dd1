import GatewayConfig
import Logging
import NIOCore
import NIOPosix
import ServiceLifecycle

/// Accepts a gateway's clients and serves each connection as a child task of one task group
/// (structured concurrency: no connection outlives the listener, none runs as a detached
/// task). On graceful shutdown it stops accepting, tells each connection to end, and returns
/// once all have ended; `SessionDrain` then waits for what is still sealing.
///
/// Until a client authenticates its connection holds a slot of `pending` (`Handshake`): past
/// the listener's `HandshakeLimits` a new connection is closed at once, and one that has not
/// authenticated in time is closed then.
public struct GatewayListener<Child: GatewayChildChannel>: Service {
    let child: Child
    let listen: HostPort
    let logger: Logger
    /// What the start-up log line says besides the address.
    let started: Logger.Metadata
    let pending: UnauthenticatedConnections

    public init(child: Child, listen: HostPort, logger: Logger, started: Logger.Metadata = [:], pending: UnauthenticatedConnections) {
        self.child = child
        self.listen = listen
        self.logger = logger
        self.started = started
        self.pending = pending
    }

    /// An accepted connection: set up, or refused for want of a slot (already closed).
    enum Accepted: Sendable {
        case accepted(Child.Value)
        case refused
    }

    public func run() async throws {
        let (child, logger, pending) = (child, logger, pending)
        let server = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.backlog, value: 256)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .bind(host: listen.host, port: listen.port) { channel -> EventLoopFuture<Accepted> in
                let address = ClientAddress.host(channel.remoteAddress)
                guard let handshake = Handshake.begin(channel, address: address, pending: pending, metrics: pending.metrics, logger: logger) else {
                    // Refused without failing the initializer (which would end the listener's stream).
                    return channel.close().map { .refused }.recover { _ in .refused }
                }
                return child.setup(channel: channel, logger: logger, handshake: handshake).map { .accepted($0) }
            }
        var metadata = started
        metadata["gateway.listen"] = "\(listen)"
        logger.info("listener started", metadata: metadata)
        await withGracefulShutdownHandler {
            await withDiscardingTaskGroup { group in
                try? await server.executeThenClose { connections in
                    for try await accepted in connections {
                        guard case .accepted(let connection) = accepted else { continue }
                        group.addTask {
                            await withGracefulShutdownHandler {
                                await child.handle(value: connection, logger: logger)
                            } onGracefulShutdown: {
                                child.shutdown(value: connection)
                            }
                        }
                    }
                }
            }
        } onGracefulShutdown: {
            server.channel.close(promise: nil)
        }
    }
}

import GatewayConfig
import Logging
import NIOCore
import NIOPosix
import ServiceLifecycle

/// Accepts a gateway's clients and serves each connection as a child task of one task group
/// (structured concurrency: no connection outlives the listener, none runs as a detached
/// task). On graceful shutdown it stops accepting, tells each connection to end, and returns
/// once all have ended; `SessionDrain` then waits for what is still sealing.
public struct GatewayListener<Child: GatewayChildChannel>: Service {
    let child: Child
    let listen: HostPort
    let logger: Logger
    /// What the start-up log line says besides the address.
    let started: Logger.Metadata

    public init(child: Child, listen: HostPort, logger: Logger, started: Logger.Metadata = [:]) {
        self.child = child
        self.listen = listen
        self.logger = logger
        self.started = started
    }

    public func run() async throws {
        let (child, logger) = (child, logger)
        let server = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.backlog, value: 256)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .bind(host: listen.host, port: listen.port) { channel in
                child.setup(channel: channel, logger: logger)
            }
        var metadata = started
        metadata["gateway.listen"] = "\(listen)"
        logger.info("listener started", metadata: metadata)
        await withGracefulShutdownHandler {
            await withDiscardingTaskGroup { group in
                try? await server.executeThenClose { connections in
                    for try await connection in connections {
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

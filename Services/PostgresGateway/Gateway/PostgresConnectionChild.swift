import GatewayRuntime
import GatewaySession
import Logging
import NIOCore
import NIOSSL
import PostgresWire

/// Each accepted PostgreSQL client, for the listener: the frame codec on its channel, then
/// its session (start-up, token, upstream, relay), served until it ends and is sealed.
struct PostgresConnectionChild: GatewayChildChannel {
    let environment: GatewayEnvironment
    let cancelKeys: CancelKeyRegistry
    let tls: NIOSSLContext?

    func setup(channel: any Channel, logger: Logger, handshake: Handshake) -> EventLoopFuture<PostgresSession> {
        // A client still in its start-up when the time is up hears why, as PostgreSQL says it.
        handshake.onExpiry { channel, message in
            channel.writeAndFlush(BackendMessages.error("08P01", message, severity: "FATAL"), promise: nil)
        }
        return channel.eventLoop.makeCompletedFuture {
            let bridge = try PostgresChannel.configure(channel, side: .client)
            return PostgresSession(
                environment: environment, cancelKeys: cancelKeys, tls: tls, client: StartupChannel(channel: channel, stream: bridge.stream), handshake: handshake
            )
        }
    }

    func handle(value session: PostgresSession, logger: Logger) async {
        await session.run()
    }

    func shutdown(value session: PostgresSession) {
        session.terminate(reason: "the gateway is shutting down")
    }
}

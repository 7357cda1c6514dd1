import GatewayRuntime
import GatewaySession
import Logging
import NIOCore
import NIOSSH

/// Each accepted SSH connection, for the listener: the NIOSSH server handler with token
/// authentication, served until it closes and its recording is sealed.
struct SSHConnectionChild: GatewayChildChannel {
    let environment: GatewayEnvironment
    let hostKey: NIOSSHPrivateKey

    func setup(channel: any Channel, logger: Logger, handshake: Handshake) -> EventLoopFuture<SSHClientConnection> {
        channel.eventLoop.makeCompletedFuture {
            try SSHListener.configure(channel, environment: environment, hostKey: hostKey, handshake: handshake)
        }
    }

    func handle(value connection: SSHClientConnection, logger: Logger) async {
        await connection.serve()
    }

    func shutdown(value connection: SSHClientConnection) {
        connection.terminate(reason: "the gateway is shutting down")
    }
}

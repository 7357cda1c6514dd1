import Foundation
import GatewayConfig
import GatewayRecording
import GatewayRuntime
import GatewaySession
import Logging
import NIOCore
import NIOPosix
import NIOSSH
import ServiceLifecycle

/// The SSH listener: password authentication carrying the OIDC token, the user name selecting
/// the connection, then session channels (exec, shell, sftp) and, where allowed, `direct-tcpip`
/// forwarding, each relayed to the target over the gateway's own SSH connection.
public struct SSHListener: Service {
    let environment: GatewayEnvironment
    let hostKey: NIOSSHPrivateKey

    public init(environment: GatewayEnvironment) throws {
        self.environment = environment
        let stateDirectory = (environment.configuration.recordings.directory as NSString).deletingLastPathComponent
        self.hostKey = try GatewayHostKey.loadOrCreate(path: environment.endpoint.hostKeyFile, stateDirectory: stateDirectory, logger: environment.logger)
    }

    public func run() async throws {
        let child = SSHConnectionChild(environment: environment, hostKey: hostKey)
        try await GatewayListener(
            child: child, listen: environment.endpoint.listen, logger: environment.logger,
            started: ["gateway.protocol": "ssh", "gateway.host_key": "\(String(openSSHPublicKey: hostKey.publicKey))"],
            pending: UnauthenticatedConnections(environment: environment)
        ).run()
    }

    static func configure(_ channel: any Channel, environment: GatewayEnvironment, hostKey: NIOSSHPrivateKey, handshake: Handshake? = nil) throws -> SSHClientConnection {
        let connection = SSHClientConnection(environment: environment, channel: channel, handshake: handshake)
        var configuration = SSHServerConfiguration(
            hostKeys: [hostKey],
            userAuthDelegate: TokenPasswordDelegate(connection: connection),
            globalRequestDelegate: RefuseRemoteForwarding(connection: connection)
        )
        // Every request counts, the "none" probe too: enough for three tokens.
        configuration.maxAuthAttempts = 8
        let ssh = NIOSSHHandler(
            role: .server(configuration),
            allocator: channel.allocator,
            inboundChildChannelInitializer: { child, type in
                Self.openChild(child, type: type, connection: connection)
            }
        )
        try channel.pipeline.syncOperations.addHandlers(ssh, ConnectionErrorHandler(connection: connection))
        channel.closeFuture.whenComplete { _ in connection.closed() }
        return connection
    }

    static func openChild(_ child: any Channel, type: SSHChannelType, connection: SSHClientConnection) -> EventLoopFuture<Void> {
        if let refusal = connection.refusal {
            guard case .session = type else {
                return child.eventLoop.makeFailedFuture(SSHGatewayFailure(refusal.message))
            }
            return child.eventLoop.makeCompletedFuture {
                try child.pipeline.syncOperations.addHandler(RefusedSessionChannel(message: refusal.message))
            }
        }
        guard let session = connection.authenticated else {
            return child.eventLoop.makeFailedFuture(SSHGatewayFailure("not authenticated"))
        }
        switch type {
        case .session:
            return child.eventLoop.makeCompletedFuture {
                try child.syncOptions?.setOption(ChannelOptions.allowRemoteHalfClosure, value: true)
                try child.syncOptions?.setOption(ChannelOptions.autoRead, value: false)
                let relay = SessionChannelRelay(owner: connection, session: session, client: child)
                try child.pipeline.syncOperations.addHandler(RelaySideHandler(endpoint: relay, side: .client))
            }
        case .directTCPIP(let target):
            return PortForwarding.open(child, target: target, connection: connection, session: session)
        case .forwardedTCPIP:
            return child.eventLoop.makeFailedFuture(SSHGatewayFailure("forwarded-tcpip channels are not accepted from clients"))
        }
    }
}

/// Closes the client's connection on a protocol error (the NIOSSH handler has already told the peer).
final class ConnectionErrorHandler: ChannelInboundHandler {
    typealias InboundIn = Any
    let connection: SSHClientConnection

    init(connection: SSHClientConnection) {
        self.connection = connection
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        // One line per connection ended this way (no algorithm in common, a malformed packet):
        // the error names what failed, never what the client sent.
        if context.channel.isActive {
            connection.logger.notice("client connection closed on a protocol error", metadata: ["gateway.error": "\(error)", "gateway.client": "\(connection.clientAddress)"])
        }
        context.close(promise: nil)
    }
}

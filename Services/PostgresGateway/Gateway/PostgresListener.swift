import GatewayConfig
import GatewayRuntime
import NIOSSL
import Logging
import NIOCore
import NIOPosix
import PostgresWire
import ServiceLifecycle

/// Accepts PostgreSQL clients on `services.postgres.listen` and runs a session for each.
public struct PostgresListener: Service {
    let environment: GatewayEnvironment
    let cancelKeys = CancelKeyRegistry()

    public init(environment: GatewayEnvironment) {
        self.environment = environment
    }

    /// The client-facing TLS context from the `tls:` section, if any.
    static func makeTLSContext(_ settings: TLSSettings?) throws -> NIOSSLContext? {
        guard let settings else { return nil }
        let chain = try NIOSSLCertificate.fromPEMFile(settings.certFile).map { NIOSSLCertificateSource.certificate($0) }
        let key = try NIOSSLPrivateKey(file: settings.keyFile, format: .pem)
        var configuration = TLSConfiguration.makeServerConfiguration(certificateChain: chain, privateKey: .privateKey(key))
        configuration.minimumTLSVersion = .tlsv12
        return try NIOSSLContext(configuration: configuration)
    }

    public func run() async throws {
        let tls = try Self.makeTLSContext(environment.configuration.tls)
        let listen = environment.endpoint.listen
        let server = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.backlog, value: 256)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .childChannelInitializer { [environment, cancelKeys] channel in
                channel.eventLoop.makeCompletedFuture {
                    let bridge = try PostgresChannel.configure(channel, side: .client)
                    let session = PostgresSession(environment: environment, cancelKeys: cancelKeys, tls: tls, client: StartupChannel(channel: channel, stream: bridge.stream))
                    Task { await session.run() }
                }
            }
            .bind(host: listen.host, port: listen.port)
            .get()
        environment.logger.info("postgres listener started", metadata: ["gateway.listen": "\(listen)", "gateway.tls": "\(tls != nil)"])
        try await withGracefulShutdownHandler {
            try await server.closeFuture.get()
        } onGracefulShutdown: {
            // Stop accepting; SessionDrain ends the sessions in flight.
            server.close(promise: nil)
        }
    }
}

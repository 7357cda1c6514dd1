import GatewayConfig
import GatewayRuntime
import GatewaySession
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
        let child = PostgresConnectionChild(environment: environment, cancelKeys: cancelKeys, tls: tls)
        try await GatewayListener(
            child: child, listen: environment.endpoint.listen, logger: environment.logger,
            started: ["gateway.protocol": "postgres", "gateway.tls": "\(tls != nil)"]
        ).run()
    }
}

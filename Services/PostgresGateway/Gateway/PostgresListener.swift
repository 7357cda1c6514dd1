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

    public func run() async throws {
        let tls = try ServerTLS.context(environment.configuration.tls)
        let child = PostgresConnectionChild(environment: environment, cancelKeys: cancelKeys, tls: tls)
        try await GatewayListener(
            child: child, listen: environment.endpoint.listen, logger: environment.logger,
            started: ["gateway.protocol": "postgres", "gateway.tls": "\(tls != nil)"],
            pending: UnauthenticatedConnections(environment: environment)
        ).run()
    }
}

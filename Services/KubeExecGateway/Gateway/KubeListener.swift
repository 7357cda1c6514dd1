import GatewayConfig
import GatewayRuntime
import GatewaySession
import Logging
import NIOSSL
import ServiceLifecycle

/// Accepts kubectl and the Kubernetes client libraries on `services.kube.listen`: HTTPS (the
/// `tls:` section; plain HTTP only on a loopback listener), HTTP/1.1, the Kubernetes API
/// under `/connections/<connection>/`, exec and attach as WebSocket streams.
public struct KubeListener: Service {
    let environment: GatewayEnvironment

    public init(environment: GatewayEnvironment) {
        self.environment = environment
    }

    public func run() async throws {
        // HTTP/1.1 only: kubectl falls back to it when no h2 is offered.
        let tls = try ServerTLS.context(environment.configuration.tls, applicationProtocols: ["http/1.1"])
        let listen = environment.endpoint.listen
        guard tls != nil || listen.isLoopback else {
            throw KubeGatewayFailure("services.kube.listen \(listen) is not a loopback address: a tls: section is required (tokens travel as bearer headers)")
        }
        let clients = KubeUpstreamClients(connectTimeout: environment.endpoint.upstreamTimeout)
        let child = KubeConnectionChild(environment: environment, tls: tls, proxy: KubeAPIProxy(environment: environment, clients: clients, holdWait: .seconds(environment.endpoint.heldRequestWait)))
        do {
            try await GatewayListener(
                child: child, listen: listen, logger: environment.logger, started: ["gateway.protocol": "kube", "gateway.tls": "\(tls != nil)"],
                pending: UnauthenticatedConnections(environment: environment)
            ).run()
        } catch {
            await clients.shutdown()
            throw error
        }
        await clients.shutdown()
    }
}

struct KubeGatewayFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

import AsyncHTTPClient
import Foundation
import GatewayConfig
import NIOCore
import NIOPosix
import NIOSSL
import Synchronization

/// One HTTP client per Kubernetes connection, trusting that connection's CA, and the
/// connection's credential (read from its token file for each request, so a rotated token is
/// picked up; only the gateway can read it).
final class KubeUpstreamClients: Sendable {
    private let clients = Mutex<[String: HTTPClient]>([:])
    /// `upstream_timeout`: dialling and TLS with an API server.
    let connectTimeout: Double

    init(connectTimeout: Double = 15) {
        self.connectTimeout = connectTimeout
    }

    func client(for name: String, upstream: KubeUpstream) throws -> HTTPClient {
        try clients.withLock { clients in
            if let client = clients[name] { return client }
            var configuration = HTTPClient.Configuration()
            configuration.tlsConfiguration = try Self.tls(upstream)
            configuration.decompression = .disabled
            configuration.redirectConfiguration = .disallow
            configuration.timeout.connect = .milliseconds(Int64(connectTimeout * 1000))
            let client = HTTPClient(eventLoopGroupProvider: .shared(MultiThreadedEventLoopGroup.singleton), configuration: configuration)
            clients[name] = client
            return client
        }
    }

    /// Shuts every client down (when the listener stops).
    func shutdown() async {
        let all = clients.withLock { clients in
            defer { clients = [:] }
            return Array(clients.values)
        }
        for client in all { try? await client.shutdown() }
    }

    static func tls(_ upstream: KubeUpstream) throws -> TLSConfiguration {
        var tls = TLSConfiguration.makeClientConfiguration()
        if let ca = upstream.caFile {
            tls.trustRoots = .certificates(try NIOSSLCertificate.fromPEMFile(ca))
        }
        return tls
    }

    /// The bearer token the gateway presents to the API server.
    static func token(_ upstream: KubeUpstream) throws -> String {
        try String(contentsOfFile: upstream.tokenFile, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
    }
}

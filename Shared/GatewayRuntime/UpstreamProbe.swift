import Foundation
import GatewayConfig
import NIOCore
import NIOPosix

/// TCP reachability of a connection's upstream, for `/readyz`.
enum UpstreamProbe {
    static func address(of upstream: Upstream) -> (host: String, port: Int)? {
        switch upstream {
        case .postgres(let p): return (p.host, p.port)
        case .ssh(let s): return (s.host, s.port)
        case .kube(let k):
            guard let url = URL(string: k.url), let host = url.host else { return nil }
            return (host, url.port ?? (url.scheme == "http" ? 80 : 443))
        }
    }

    /// nil when a TCP connection opens within two seconds.
    static func problem(_ upstream: Upstream) async -> String? {
        guard let (host, port) = address(of: upstream) else { return "no address" }
        do {
            let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                .connectTimeout(.seconds(2))
                .connect(host: host, port: port)
                .get()
            try? await channel.close()
            return nil
        } catch {
            return "\(host):\(port) unreachable"
        }
    }
}

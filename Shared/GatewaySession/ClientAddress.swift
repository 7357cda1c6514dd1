import NIOCore

/// How audit events, logs and recordings name a client: `203.0.113.7:51234`, `[2001:db8::1]:51234`.
public enum ClientAddress {
    public static func describe(_ address: SocketAddress?) -> String {
        guard let address else { return "unknown" }
        guard let ip = address.ipAddress, let port = address.port else { return address.description }
        return ip.contains(":") ? "[\(ip)]:\(port)" : "\(ip):\(port)"
    }

    /// The address without its port: what per-address limits count by.
    public static func host(_ address: SocketAddress?) -> String {
        address?.ipAddress ?? "unknown"
    }
}

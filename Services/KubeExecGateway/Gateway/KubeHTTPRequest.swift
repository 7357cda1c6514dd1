import NIOCore
import NIOHTTP1

/// One HTTP request from a client, whole: its head and its body (bounded).
struct KubeHTTPRequest: Sendable {
    var head: HTTPRequestHead
    var body: ByteBuffer
    /// The body was larger than the gateway takes (the request is refused with 413).
    var bodyTooLarge = false

    /// The path and the query, split.
    var pathAndQuery: (path: String, query: Substring) {
        let parts = head.uri.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false)
        return (String(parts[0]), parts.count > 1 ? parts[1] : "")
    }

    /// The bearer token of `Authorization`, if any.
    var bearerToken: String? {
        guard let value = head.headers.first(name: "authorization") else { return nil }
        let parts = value.split(separator: " ", maxSplits: 1)
        guard parts.count == 2, parts[0].lowercased() == "bearer" else { return nil }
        return String(parts[1])
    }

    /// `/connections/<name>/rest`: the connection and the path the API server sees.
    static func route(_ path: String) -> (connection: String, path: String)? {
        let prefix = "/connections/"
        guard path.hasPrefix(prefix) else { return nil }
        let rest = path.dropFirst(prefix.count)
        let name = rest.prefix { $0 != "/" }
        guard !name.isEmpty else { return nil }
        let remainder = rest.dropFirst(name.count)
        return (String(name), remainder.isEmpty ? "/" : String(remainder))
    }
}

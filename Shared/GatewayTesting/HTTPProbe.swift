import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix

/// A minimal HTTP/1.1 client for fixtures and tests (no dependency on the code under test).
public enum HTTPProbe {
    public struct Response: Sendable {
        public var status: Int
        public var body: Data
        public var headers: [(String, String)]

        public var text: String { String(decoding: body, as: UTF8.self) }
        public func json() -> Any? { try? JSONSerialization.jsonObject(with: body) }
    }

    public static func get(host: String, port: Int, path: String, token: String? = nil, headers: [String: String] = [:]) async throws -> Response {
        try await send(host: host, port: port, method: .GET, path: path, token: token, body: nil, extraHeaders: headers)
    }

    public static func post(host: String, port: Int, path: String, token: String? = nil, json: [String: String]? = nil) async throws -> Response {
        let body = try json.map { try JSONSerialization.data(withJSONObject: $0) }
        return try await send(host: host, port: port, method: .POST, path: path, token: token, body: body)
    }

    public static func send(host: String, port: Int, method: HTTPMethod, path: String, token: String?, body: Data?, extraHeaders: [String: String] = [:]) async throws -> Response {
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .connectTimeout(.seconds(2))
            .connect(host: host, port: port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHTTPClientHandlers()
                    return try NIOAsyncChannel<HTTPClientResponsePart, HTTPClientRequestPart>(wrappingChannelSynchronously: channel)
                }
            }
        return try await channel.executeThenClose { inbound, outbound in
            var headers = HTTPHeaders()
            headers.add(name: "Host", value: "\(host):\(port)")
            headers.add(name: "Connection", value: "close")
            if let token { headers.add(name: "Authorization", value: "Bearer \(token)") }
            for (name, value) in extraHeaders { headers.add(name: name, value: value) }
            if let body {
                headers.add(name: "Content-Type", value: "application/json")
                headers.add(name: "Content-Length", value: "\(body.count)")
            } else if method == .POST {
                headers.add(name: "Content-Length", value: "0")
            }
            var parts: [HTTPClientRequestPart] = [.head(HTTPRequestHead(version: .http1_1, method: method, uri: path, headers: headers))]
            if let body { parts.append(.body(.byteBuffer(ByteBuffer(bytes: body)))) }
            parts.append(.end(nil))
            // A server may answer and close before the last part is written (a request with
            // no body is complete at its head): the response is what counts.
            try? await outbound.write(contentsOf: parts)
            var response = Response(status: 0, body: Data(), headers: [])
            for try await part in inbound {
                switch part {
                case .head(let head):
                    response.status = Int(head.status.code)
                    response.headers = head.headers.map { ($0.name, $0.value) }
                case .body(let buffer):
                    response.body.append(contentsOf: buffer.readableBytesView)
                case .end:
                    return response
                }
            }
            return response
        }
    }
}

extension HTTPProbe {
    /// A gateway's audit events through its admin API (`/api/audit`), read with `token`.
    public static func audit(adminPort: Int, token: String, query: String = "") async throws -> [[String: Any]] {
        let response = try await get(host: "127.0.0.1", port: adminPort, path: "/api/audit?limit=500\(query)", token: token)
        return response.json() as? [[String: Any]] ?? []
    }
}

extension HTTPProbe {
    /// The first pending review a gateway's admin API lists to `token`, waiting up to 10 s for one.
    public static func pendingReview(adminPort: Int, token: String) async throws -> [String: Any]? {
        for _ in 0..<100 {
            let list = try await get(host: "127.0.0.1", port: adminPort, path: "/api/reviews?status=pending", token: token)
            if let first = (list.json() as? [[String: Any]])?.first { return first }
            try await Task.sleep(for: .milliseconds(100))
        }
        return nil
    }
}

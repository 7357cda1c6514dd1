import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1

/// Calls a gateway's admin API with the operator's bearer token.
struct AdminClient {
    let baseURL: String
    let token: String

    struct Failure: Error, CustomStringConvertible {
        let status: Int
        let message: String
        var description: String { "\(message) (HTTP \(status))" }
    }

    func get(_ path: String) async throws -> Data {
        try await send(.GET, path, body: nil)
    }

    func post(_ path: String, body: [String: String]? = nil) async throws -> Data {
        let data = try body.map { try JSONSerialization.data(withJSONObject: $0) }
        return try await send(.POST, path, body: data)
    }

    func getJSON(_ path: String) async throws -> Any {
        try JSONSerialization.jsonObject(with: try await get(path))
    }

    private func send(_ method: HTTPMethod, _ path: String, body: Data?) async throws -> Data {
        let base = baseURL.hasSuffix("/") ? String(baseURL.dropLast()) : baseURL
        var request = HTTPClientRequest(url: base + path)
        request.method = method
        request.headers.add(name: "Authorization", value: "Bearer \(token)")
        request.headers.add(name: "Accept", value: "application/json")
        if let body {
            request.headers.add(name: "Content-Type", value: "application/json")
            request.body = .bytes(ByteBuffer(bytes: body))
        }
        let response: HTTPClientResponse
        do {
            response = try await HTTPClient.shared.execute(request, timeout: .seconds(30))
        } catch {
            throw Failure(status: 0, message: "cannot reach \(base): \(error)")
        }
        let buffer = try await response.body.collect(upTo: 256 << 20)
        let data = Data(buffer.readableBytesView)
        guard (200..<300).contains(response.status.code) else {
            let message = (try? JSONSerialization.jsonObject(with: data) as? [String: Any])?["error"] as? String
            throw Failure(status: Int(response.status.code), message: message ?? response.status.reasonPhrase)
        }
        return data
    }
}

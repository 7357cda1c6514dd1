import AsyncHTTPClient
import Foundation
import GatewayIdentity

/// Fetches the issuer's discovery document and key set over HTTP(S), each within 5 s and at
/// most 1 MiB.
public struct IssuerHTTPClient: IssuerFetcher {
    let client: HTTPClient

    public init(client: HTTPClient = .shared) {
        self.client = client
    }

    public func get(_ url: String) async throws -> Data {
        var request = HTTPClientRequest(url: url)
        request.headers.add(name: "Accept", value: "application/json")
        let response = try await client.execute(request, timeout: .seconds(5))
        guard response.status == .ok else {
            throw TokenRejection(.keysUnavailable, "GET \(url) answered \(response.status.code)")
        }
        let body = try await response.body.collect(upTo: 1 << 20)
        return Data(body.readableBytesView)
    }
}

import Foundation

/// How the token verifier reaches the issuer: a GET of the discovery document and of the
/// key set. The verifier itself holds no HTTP client, so that what parses and checks tokens
/// (this module, which the token fuzzer builds) does not carry a network stack;
/// `IssuerHTTPClient` (GatewayIssuerClient) is the one every gateway uses.
public protocol IssuerFetcher: Sendable {
    /// The body of `url` when it answers 200; throws otherwise.
    func get(_ url: String) async throws -> Data
}

/// For a verifier whose keys come only from `identity.jwks_file`: any fetch fails.
public struct NoIssuerFetcher: IssuerFetcher {
    public init() {}

    public func get(_ url: String) async throws -> Data {
        throw TokenRejection(.keysUnavailable, "the issuer is not fetched (keys come from jwks_file only)")
    }
}

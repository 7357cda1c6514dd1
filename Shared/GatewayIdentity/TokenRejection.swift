/// Why a token was refused. The reason is safe to show to the client: it never contains the token.
public struct TokenRejection: Error, Sendable, Hashable, CustomStringConvertible {
    public enum Code: String, Sendable, Hashable {
        case malformed
        case tooLarge = "too_large"
        case unsignedAlgorithm = "alg_none"
        case hmacAlgorithm = "alg_hmac"
        case unsupportedAlgorithm = "alg_unsupported"
        case unknownKey = "unknown_kid"
        case badSignature = "bad_signature"
        case expired
        case notYetValid = "not_yet_valid"
        case wrongIssuer = "wrong_issuer"
        case wrongAudience = "wrong_audience"
        case missingClaim = "missing_claim"
        case keysUnavailable = "keys_unavailable"
    }

    public var code: Code
    public var reason: String

    public init(_ code: Code, _ reason: String) {
        self.code = code
        self.reason = reason
    }

    public var description: String { "token refused: \(reason)" }
}

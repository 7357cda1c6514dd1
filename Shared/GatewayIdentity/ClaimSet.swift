import JWTKit

/// The token's payload as raw JSON, so any configured groups claim can be read.
/// Claims are checked by `TokenVerifier` after the signature, with the configured leeway.
struct ClaimSet: JWTPayload {
    var claims: [String: JSONValue]

    init(from decoder: any Decoder) throws {
        claims = try decoder.singleValueContainer().decode([String: JSONValue].self)
    }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(claims)
    }

    func verify(using algorithm: some JWTAlgorithm) async throws {}

    /// A claim by name, or by dotted path into nested objects (`realm_access.roles`).
    func value(at name: String) -> JSONValue? {
        if let direct = claims[name] { return direct }
        let parts = name.split(separator: ".").map(String.init)
        guard parts.count > 1, var current = claims[parts[0]] else { return nil }
        for part in parts.dropFirst() {
            guard let next = current[part] else { return nil }
            current = next
        }
        return current
    }
}

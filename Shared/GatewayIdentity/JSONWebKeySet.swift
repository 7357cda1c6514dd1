import Foundation
import JWTKit

/// One fetched key set: the keys by `kid` with their algorithm family, and a jwt-kit
/// collection holding exactly these keys.
struct JSONWebKeySet: Sendable {
    struct Key: Sendable {
        var kid: String
        /// "RSA", "EC" or "OKP".
        var keyType: String
        /// The `alg` the JWK names, if any.
        var algorithm: String?
        var curve: String?
    }

    var keys: [String: Key]
    var collection: JWTKeyCollection
    var fetchedAt: Date

    static func parse(_ data: Data, now: Date) async throws -> JSONWebKeySet {
        guard let object = try JSONSerialization.jsonObject(with: data) as? [String: Any],
              let entries = object["keys"] as? [[String: Any]] else {
            throw TokenRejection(.keysUnavailable, "the issuer's JWKS is not a key set")
        }
        let collection = JWTKeyCollection()
        var keys: [String: Key] = [:]
        for entry in entries {
            guard let kid = entry["kid"] as? String, let kty = entry["kty"] as? String else { continue }
            // Signature keys only; HMAC ("oct") keys are never accepted from a key set.
            guard ["RSA", "EC", "OKP"].contains(kty) else { continue }
            if let use = entry["use"] as? String, use != "sig" { continue }
            let single = try JSONSerialization.data(withJSONObject: entry)
            do {
                let jwk = try JSONDecoder().decode(JWK.self, from: single)
                try await collection.add(jwk: jwk)
            } catch {
                continue
            }
            keys[kid] = Key(kid: kid, keyType: kty, algorithm: entry["alg"] as? String, curve: entry["crv"] as? String)
        }
        return JSONWebKeySet(keys: keys, collection: collection, fetchedAt: now)
    }
}

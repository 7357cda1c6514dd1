import Crypto
import _CryptoExtras
import Foundation
import GatewayIdentity

/// A signing key of the test identity provider, with its JWK.
public struct TestSigningKey: Sendable {
    public enum Algorithm: String, Sendable, CaseIterable {
        case rs256 = "RS256"
        case es256 = "ES256"
        case edDSA = "EdDSA"
    }

    enum Material: Sendable {
        case rsa(_RSA.Signing.PrivateKey)
        case p256(P256.Signing.PrivateKey)
        case ed25519(Curve25519.Signing.PrivateKey)
    }

    public let kid: String
    public let algorithm: Algorithm
    let material: Material

    public static func generate(_ algorithm: Algorithm, kid: String = "key-\(UUID().uuidString.prefix(8).lowercased())") throws -> TestSigningKey {
        switch algorithm {
        case .rs256: TestSigningKey(kid: kid, algorithm: algorithm, material: .rsa(try _RSA.Signing.PrivateKey(keySize: .bits2048)))
        case .es256: TestSigningKey(kid: kid, algorithm: algorithm, material: .p256(P256.Signing.PrivateKey()))
        case .edDSA: TestSigningKey(kid: kid, algorithm: algorithm, material: .ed25519(Curve25519.Signing.PrivateKey()))
        }
    }

    /// The public JWK, as a JSON object.
    public func jwk() throws -> [String: String] {
        switch material {
        case .rsa(let key):
            let primitives = try key.publicKey.getKeyPrimitives()
            return ["kty": "RSA", "kid": kid, "alg": "RS256", "use": "sig",
                    "n": Base64URL.encode(primitives.modulus), "e": Base64URL.encode(primitives.publicExponent)]
        case .p256(let key):
            let raw = key.publicKey.rawRepresentation
            return ["kty": "EC", "kid": kid, "alg": "ES256", "use": "sig", "crv": "P-256",
                    "x": Base64URL.encode(raw.prefix(32)), "y": Base64URL.encode(raw.suffix(32))]
        case .ed25519(let key):
            return ["kty": "OKP", "kid": kid, "alg": "EdDSA", "use": "sig", "crv": "Ed25519",
                    "x": Base64URL.encode(key.publicKey.rawRepresentation)]
        }
    }

    /// The public key in PEM, as an attacker would find it (used for the HS256 confusion attack).
    public func publicKeyPEM() -> String {
        switch material {
        case .rsa(let key): key.publicKey.pemRepresentation
        case .p256(let key): key.publicKey.pemRepresentation
        case .ed25519(let key): Base64URL.encode(key.publicKey.rawRepresentation)
        }
    }

    func sign(_ input: Data) throws -> Data {
        switch material {
        case .rsa(let key): try key.signature(for: input, padding: .insecurePKCS1v1_5).rawRepresentation
        case .p256(let key): try key.signature(for: input).rawRepresentation
        case .ed25519(let key): try key.signature(for: input)
        }
    }
}

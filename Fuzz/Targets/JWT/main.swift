import Crypto
import Foundation
import FuzzDriver
import GatewayConfig
import GatewayIdentity
import GatewayPolicy

/// The token verifier (JWT split, base64url, header checks, then JWTKit's signature check and
/// the claim rules) on arbitrary strings, against a key set of its own loaded from a file, the
/// corpus seeded with a validly signed token to mutate. Invariant: no input verifies except
/// one carrying the seed's own signed claims — a forged, altered or unsigned token gets nothing.
///
/// The seed is signed here (ES256 with swift-crypto) rather than with GatewayTesting's
/// provider, so that this target builds without a network stack.
enum Fixture {
    static let issuer = "https://idp.fuzz.invalid"
    static let key = P256.Signing.PrivateKey()
    static let seedToken: String = {
        let now = Int(Date().timeIntervalSince1970)
        let claims: [String: Any] = [
            "iss": issuer, "aud": "gateway", "sub": "fuzz-agent", "groups": ["agents"],
            "exp": now + 86_400 * 365, "iat": now,
        ]
        func segment(_ object: [String: Any]) -> String {
            Base64URL.encode(try! JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]))
        }
        let input = segment(["alg": "ES256", "typ": "JWT", "kid": "fuzz-key"]) + "." + segment(claims)
        return input + "." + Base64URL.encode(try! key.signature(for: Data(input.utf8)).rawRepresentation)
    }()
    static let verifier: TokenVerifier = {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("fuzz-jwks-\(getpid()).json").path
        let raw = key.publicKey.rawRepresentation
        let jwk = [
            "kty": "EC", "kid": "fuzz-key", "alg": "ES256", "use": "sig", "crv": "P-256",
            "x": Base64URL.encode(raw.prefix(32)), "y": Base64URL.encode(raw.suffix(32)),
        ]
        _ = FileManager.default.createFile(atPath: file, contents: try! JSONSerialization.data(withJSONObject: ["keys": [jwk]]))
        return TokenVerifier(settings: IdentitySettings(issuer: issuer, audience: "gateway", jwksFile: file), fetcher: NoIssuerFetcher())
    }()
}

final class Outcome: @unchecked Sendable {
    var identity: Identity?
}

func verify(_ token: String) -> Identity? {
    let outcome = Outcome()
    let done = DispatchSemaphore(value: 0)
    Task {
        outcome.identity = try? await Fixture.verifier.verify(token)
        done.signal()
    }
    done.wait()
    return outcome.identity
}

precondition(verify(Fixture.seedToken)?.subject == "fuzz-agent", "the seed token does not verify")
seedCorpus(["token": Array(Fixture.seedToken.utf8)])

runFuzzer { data, size in
    let token = String(decoding: UnsafeBufferPointer(start: data, count: size), as: UTF8.self)
    if let identity = verify(token) {
        precondition(
            identity.subject == "fuzz-agent" && identity.groups == ["agents"] && identity.issuer == Fixture.issuer,
            "an altered token verified as \(identity.subject) \(identity.groups)"
        )
    }
    return 0
}

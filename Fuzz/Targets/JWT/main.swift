import Foundation
import FuzzDriver
import GatewayConfig
import GatewayIdentity
import GatewayPolicy
import GatewayTesting

/// The token verifier (JWT split, base64url, header checks, then JWTKit's signature check and
/// the claim rules) on arbitrary strings, against a key set of its own loaded from a file, the
/// corpus seeded with a validly signed token to mutate. Invariant: no input verifies except
/// one carrying the seed's own signed claims — a forged, altered or unsigned token gets nothing.
enum Fixture {
    static let issuer = "https://idp.fuzz.invalid"
    static let key = try! TestSigningKey.generate(.es256, kid: "fuzz-key")
    static let claims: [String: any Sendable] = [
        "iss": issuer, "aud": "gateway", "sub": "fuzz-agent", "groups": ["agents"],
        "exp": Int(Date().timeIntervalSince1970) + 86_400 * 365, "iat": Int(Date().timeIntervalSince1970),
    ]
    static let seedToken = try! TestIdentityProvider.sign(claims, with: key)
    static let verifier: TokenVerifier = {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("fuzz-jwks-\(getpid()).json").path
        let set = try! JSONSerialization.data(withJSONObject: ["keys": [try! key.jwk()]])
        _ = FileManager.default.createFile(atPath: file, contents: set)
        return TokenVerifier(settings: IdentitySettings(issuer: issuer, audience: "gateway", jwksFile: file))
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

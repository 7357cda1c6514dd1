import Foundation
import GatewayTesting
import Testing

/// The identity provider goes away while the gateway serves. Tokens signed by the keys it
/// already fetched keep verifying (an IdP outage does not lock everyone out); a token signed
/// by any other key is refused (an outage does not let anyone in); `/readyz` stays 200 and
/// reports the issuer as unreachable.
@Suite("Identity provider outage", .serialized)
struct IdentityProviderOutageTests {
    @Test(.timeLimit(.minutes(2))) func cachedKeysKeepWorkingAndUnknownKeysAreRefused() async throws {
        let fixture = try await PostgresGatewayFixture.start()
        #expect(try fixture.psql(["SELECT 'idp-up'"]).output.contains("idp-up"))
        // A key the provider would have rotated in, had it been reachable.
        let rotatedIn = try TestSigningKey.generate(.rs256)
        let unknownKeyToken = try TestIdentityProvider.sign(fixture.idp.claims(subject: "agent-1", groups: ["agents"]), with: rotatedIn)
        let cachedKeyToken = try fixture.agentToken()
        let security = try fixture.idp.token(subject: "sec-1", groups: ["security"])

        await fixture.idp.stop()
        #expect(try fixture.psql(["SELECT 'cached-key-works'"], token: cachedKeyToken).output.contains("cached-key-works"))
        let refusal = try fixture.startupRefusal(token: unknownKeyToken)
        #expect(refusal?.field("C") == "28000")
        #expect(refusal?.field("M")?.contains("unknown signing key \"\(rotatedIn.kid)\"") == true, "\(refusal?.field("M") ?? "admitted")")

        let readiness = try await HTTPProbe.get(host: "127.0.0.1", port: fixture.adminPort, path: "/readyz")
        let body = readiness.json() as? [String: Any]
        let checks = (body?["checks"] as? [String: String]) ?? [:]
        let identity = checks["identity"] ?? ""
        #expect(identity.hasPrefix("degraded: the issuer's keys could not be fetched"), "\(readiness.text)")
        #expect(identity.contains("tokens signed by other keys are refused"))
        #expect((body?["degraded"] as? [String]) == ["identity"])
        // Reported, not failing: the only failing check is the fixture's deliberately
        // unreachable target (orders-down), so /readyz would be 200 without it.
        let failing = checks.filter { $0.value != "ok" && !$0.value.hasPrefix("degraded: ") }.keys.sorted()
        #expect(failing == ["upstream:orders-down"], "\(checks)")

        // The admin API verifies with the same cached keys.
        let audit = try await HTTPProbe.audit(adminPort: fixture.adminPort, token: security, query: "&connection=orders")
        #expect(audit.contains { $0["action"] as? String == "deny" && ($0["detail"] as? String)?.contains("unknown signing key") == true })
        #expect(await fixture.stop() == 0)
    }
}

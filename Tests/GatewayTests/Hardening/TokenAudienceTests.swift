import Foundation
import GatewayTesting
import Testing

/// A token the team's identity provider signed for another application (audience A) gets
/// nothing from a gateway configured for its own audience (B): not the data path of any of the
/// three gateways, not the admin API. The token is otherwise perfect — right issuer, right key,
/// unexpired, the right groups — so only the audience check stands between it and the target.
@Suite("Token audience boundary", .serialized)
struct TokenAudienceTests {
    static let otherAudience = "billing-dashboard"

    static func foreignTokens(_ idp: TestIdentityProvider) throws -> [String] {
        [
            try idp.token(subject: "agent-1", email: "agent@example.com", groups: ["agents", "security"], overrides: ["aud": otherAudience]),
            try idp.token(subject: "agent-1", email: "agent@example.com", groups: ["agents", "security"], overrides: ["aud": [otherAudience, "another-app"]]),
        ]
    }

    static func expectAdminRefuses(_ tokens: [String], adminPort: Int) async throws {
        for token in tokens {
            for path in ["/api/sessions", "/api/audit", "/api/reviews"] {
                let response = try await HTTPProbe.get(host: "127.0.0.1", port: adminPort, path: path, token: token)
                #expect(response.status == 401, "\(path): \(response.status)")
                #expect(response.text.contains("not for audience"), "\(response.text)")
            }
        }
    }

    @Test func postgresGatewayRefusesATokenForAnotherAudience() async throws {
        let fixture = try await PostgresGatewayFixture.start()
        for token in try Self.foreignTokens(fixture.idp) {
            let result = try fixture.psql(["SELECT 'reached-the-database'"], token: token)
            #expect(result.status != 0)
            #expect(result.output.contains("token refused: the token is not for audience \(fixture.idp.audience)"), "\(result.output)")
            #expect(!result.output.contains("reached-the-database"))
        }
        try await Self.expectAdminRefuses(try Self.foreignTokens(fixture.idp), adminPort: fixture.adminPort)
        // The same identity with the gateway's audience is let in.
        #expect(try fixture.psql(["SELECT 'reached-the-database'"]).output.contains("reached-the-database"))
        #expect(await fixture.stop() == 0)
    }

    @Test func sshGatewayRefusesATokenForAnotherAudience() async throws {
        let fixture = try await SSHGatewayFixture.start()
        for token in try Self.foreignTokens(fixture.idp) {
            let result = try fixture.ssh("web", "echo reached-the-target", token: token)
            #expect(result.status != 0)
            #expect(!result.output.contains("reached-the-target"))
        }
        try await Self.expectAdminRefuses(try Self.foreignTokens(fixture.idp), adminPort: fixture.adminPort)
        #expect(try fixture.ssh("web", "echo reached-the-target").output.contains("reached-the-target"))
        #expect(await fixture.stop() == 0)
    }

    @Test func kubeGatewayRefusesATokenForAnotherAudience() async throws {
        try await KubeGatewayFixture.with { fixture in
            for token in try Self.foreignTokens(fixture.idp) {
                let result = try fixture.kubectl(["get", "pods", "-v=8"], token: token)
                #expect(result.status != 0)
                #expect(result.output.contains("not for audience"), "\(result.output)")
            }
            // Not one request reached the API server.
            #expect(try fixture.standInRequests(containing: "/pods").isEmpty)
            try await Self.expectAdminRefuses(try Self.foreignTokens(fixture.idp), adminPort: fixture.adminPort)
            #expect(try fixture.kubectl(["get", "pods"]).output.contains("web-1"))
        }
    }
}

import Foundation
import GatewayTesting
import Testing

/// `identity.session_expiry: end` (the default): a session outlives neither its token nor the
/// verifier's leeway. The client is told why in the protocol's own terms, and the end is
/// recorded and audited.
@Suite("Session ends when its token expires")
struct SessionExpiryTests {
    @Test func aPostgresSessionEndsWithItsToken() async throws {
        let fixture = try await GuardedPostgresFixture.start()
        // Expired 57 s ago: accepted (60 s leeway), past it three seconds from now.
        let token = try fixture.idp.token(subject: "agent-1", groups: ["agents"], expiresIn: -57)
        let result = try fixture.psql(["SELECT 'before-expiry'", "SELECT pg_sleep(6)", "SELECT 'after-expiry'"], environment: ["PGPASSWORD": token])
        #expect(result.output.contains("before-expiry"), "\(result.output)")
        #expect(result.output.contains("token expired"), "\(result.output)")
        #expect(!result.output.contains("after-expiry"), "\(result.output)")
        let recordings = fixture.directory + "/recordings"
        var events = ""
        for _ in 0..<50 {
            let folders = (try? FileManager.default.contentsOfDirectory(atPath: recordings).filter { $0.hasPrefix("s-") }) ?? []
            events = folders.compactMap { FileManager.default.contents(atPath: recordings + "/" + $0 + "/events.jsonl") }.map { String(decoding: $0, as: UTF8.self) }.joined()
            if events.contains("session_expiry") { break }
            try await Task.sleep(for: .milliseconds(100))
        }
        #expect(events.contains("session_expiry"), "\(events)")
        // A fresh token still connects.
        #expect(try fixture.psql(["SELECT 'fresh-ok'"]).output.contains("fresh-ok"))
        await fixture.stop()
    }

    /// A token of megabytes is refused unread, with the protocol's own error, and audited.
    @Test func anOversizedTokenIsRefusedAtTheGateway() async throws {
        let fixture = try await GuardedPostgresFixture.start()
        let huge = try fixture.idp.token(subject: "agent-1", groups: ["agents"]) + String(repeating: "A", count: 20_000)
        let result = try fixture.psql(["SELECT 'let-in'"], environment: ["PGPASSWORD": huge])
        #expect(result.status != 0)
        #expect(!result.output.contains("let-in"), "\(result.output)")
        #expect(result.output.contains("at most 8192"), "\(result.output)")
        await fixture.stop()
    }

    /// The same over SSH: the channel is told on stderr and the command does not finish.
    @Test func anSSHSessionEndsWithItsToken() async throws {
        let fixture = try await SSHGatewayFixture.start()
        let token = try fixture.idp.token(subject: "agent-1", email: "agent@example.com", groups: ["agents"], expiresIn: -57)
        let result = try fixture.ssh("locked", "echo before-expiry; sleep 8; echo after-expiry", token: token)
        #expect(result.output.contains("before-expiry"), "\(result.output)")
        #expect(result.output.contains("token expired"), "\(result.output)")
        #expect(!result.output.contains("after-expiry"), "\(result.output)")
        _ = await fixture.stop()
    }
}

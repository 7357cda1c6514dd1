#if canImport(Glibc)
import Glibc
#endif
import Foundation
import GatewayRecording
import GatewayTesting
import Testing

/// Each gateway killed with SIGKILL in the middle of a session (no drain, no seal): at the next
/// start the partial recording is sealed as `recovered` and verifies, and what it recorded and
/// audited before the kill is there.
@Suite("SIGKILL mid-session", .serialized)
struct GatewayKillTests {
    /// Waits until a recording folder's events hold `fragment`; its session id.
    static func recordingSession(in recordings: String, holding fragment: String) async throws -> String? {
        for _ in 0..<150 {
            let sessions = ((try? FileManager.default.contentsOfDirectory(atPath: recordings)) ?? []).filter { $0.hasPrefix("s-") }
            for session in sessions {
                let events = (try? String(contentsOfFile: recordings + "/" + session + "/events.jsonl", encoding: .utf8)) ?? ""
                if events.contains(fragment) { return session }
            }
            try await Task.sleep(for: .milliseconds(100))
        }
        return nil
    }

    /// Kills `gateway`, starts it again on the same configuration, and checks the session's
    /// recording: sealed at the start as recovered, verified, holding `fragment`; and its audit.
    static func killRestartAndCheck(
        _ gateway: GatewayProcess, binary: String, configPath: String, adminPort: Int, recordings: String, session: String,
        fragment: String, idp: TestIdentityProvider, environment: [String: String] = [:]
    ) async throws {
        // Past the audit trail's batching (200 ms): what was decided is in the store.
        try await Task.sleep(for: .milliseconds(600))
        kill(gateway.process.processIdentifier, SIGKILL)
        gateway.process.waitUntilExit()
        #expect(!FileManager.default.fileExists(atPath: recordings + "/" + session + "/seal.json"))
        let restarted = try await GatewayProcess.start(binary: binary, configPath: configPath, adminPort: adminPort, environment: environment)
        restarted.sweepToken = try idp.token(subject: "secret-sweep", groups: ["security"])
        let report = try RecordingVerifier.verify(folder: recordings + "/" + session)
        #expect(report.seal.recovered)
        let events = try String(contentsOfFile: recordings + "/" + session + "/events.jsonl", encoding: .utf8)
        #expect(events.contains(fragment))
        let audit = try await HTTPProbe.audit(adminPort: adminPort, token: try idp.token(subject: "sec-1", groups: ["security"]))
        let ofSession = audit.filter { $0["session_id"] as? String == session }
        #expect(ofSession.contains { ($0["command"] as? String)?.contains(fragment) == true }, "\(ofSession)")
        #expect(restarted.log.contains("recovered"), "\(restarted.log)")
        #expect(await restarted.stop() == 0)
    }

    @Test(.timeLimit(.minutes(2))) func postgresGateway() async throws {
        let fixture = try await PostgresGatewayFixture.start()
        let client = try ProcessRunner.spawn(
            [fixture.psql, "-X", "-At", "host=127.0.0.1 port=\(fixture.port) dbname=orders user=agent sslmode=disable",
             "-c", "SELECT 'before-the-kill'", "-c", "SELECT pg_sleep(30) AS held_through_the_kill"],
            environment: ["PGPASSWORD": try fixture.agentToken()], output: fixture.directory + "/client.out"
        )
        defer { ProcessRunner.stop(client) }
        let session = try #require(try await Self.recordingSession(in: fixture.directory + "/recordings", holding: "held_through_the_kill"))
        // The server goes on sleeping after the gateway dies: ended here, so no other test on
        // the shared PostgreSQL counts it (ctrlCInPsqlCancelsTheUpstreamQuery counts pg_sleep(30)).
        defer { _ = try? fixture.direct("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE query LIKE '%held_through_the_kill%' AND pid <> pg_backend_pid()") }
        try await Self.killRestartAndCheck(
            fixture.gateway, binary: "postgres-gateway", configPath: fixture.directory + "/gateway.yaml", adminPort: fixture.adminPort,
            recordings: fixture.directory + "/recordings", session: session, fragment: "before-the-kill", idp: fixture.idp,
            environment: ["SCRAM_PW": "scram-pass", "MD5_PW": "md5-pass", "HOOK_SECRET": "hook-secret"]
        )
        await fixture.idp.stop()
    }

    @Test(.timeLimit(.minutes(2))) func sshGateway() async throws {
        let fixture = try await SSHGatewayFixture.start()
        let client = try ProcessRunner.spawn(
            ["/usr/bin/sshpass", "-e", "/usr/bin/ssh"] + SSHGatewayFixture.clientOptions
                + ["-p", "\(fixture.port)", "web@127.0.0.1", "echo before-the-kill; sleep 30"],
            environment: ["SSHPASS": try fixture.agentToken()], output: fixture.directory + "/client.out"
        )
        defer { ProcessRunner.stop(client) }
        let session = try #require(try await Self.recordingSession(in: fixture.directory + "/recordings", holding: "before-the-kill"))
        try await Self.killRestartAndCheck(
            fixture.gateway, binary: "ssh-gateway", configPath: fixture.directory + "/gateway.yaml", adminPort: fixture.adminPort,
            recordings: fixture.directory + "/recordings", session: session, fragment: "before-the-kill", idp: fixture.idp
        )
        _ = await fixture.stop()
    }

    @Test(.timeLimit(.minutes(2))) func kubeExecGateway() async throws {
        guard KubeGatewayFixture.requireKubectl() else { return }
        let fixture = try await KubeGatewayFixture.start()
        let config = try fixture.kubeconfig("cluster", token: try fixture.agentToken())
        let client = try ProcessRunner.spawn(
            [KubeGatewayFixture.kubectlDirectory + "/kubectl.1.30", "--kubeconfig", config, "exec", "web-1", "--", "sh", "-c", "echo before-the-kill; sleep 30"],
            environment: ["HOME": fixture.directory], output: fixture.directory + "/client.out"
        )
        defer { ProcessRunner.stop(client) }
        let session = try #require(try await Self.recordingSession(in: fixture.directory + "/recordings", holding: "before-the-kill"))
        try await Self.killRestartAndCheck(
            fixture.gateway, binary: "kube-exec-gateway", configPath: fixture.directory + "/gateway.yaml", adminPort: fixture.adminPort,
            recordings: fixture.directory + "/recordings", session: session, fragment: "before-the-kill", idp: fixture.idp
        )
        _ = await fixture.stop()
    }
}

import Foundation
import GatewayRecording
import GatewayTesting
import Testing

/// The target misbehaves: it accepts and never answers, or it dies in the middle of a result.
/// The client gets the protocol's own error saying what happened, the session's recording is
/// sealed and verifies, the failure is audited, and the gateway goes on serving everyone else.
@Suite("Upstream faults", .serialized)
struct UpstreamFaultTests {
    /// A TCP listener that accepts connections and never says a byte (a hung database, a
    /// firewall that swallows packets after the handshake).
    static func silentListener(port: Int, log: String) throws -> pid_t {
        let script = """
            import socket, time
            s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            s.bind(("127.0.0.1", \(port))); s.listen(64); held = []
            print("listening", flush=True)
            while True:
                c, _ = s.accept(); held.append(c)
            """
        let pid = try ProcessRunner.spawn(["/usr/bin/python3", "-c", script], output: log)
        for _ in 0..<50 where !((try? String(contentsOfFile: log, encoding: .utf8)) ?? "").contains("listening") {
            Thread.sleep(forTimeInterval: 0.1)
        }
        return pid
    }

    @Test(.timeLimit(.minutes(2))) func aTargetThatAcceptsAndNeverAnswersIsReportedNotWaitedOn() async throws {
        let stalledPort = ProcessRunner.freePort()
        let fixture = try await PostgresGatewayFixture.start(service: "upstream_timeout: 2s", stalledPort: stalledPort)
        let listener = try Self.silentListener(port: stalledPort, log: fixture.directory + "/silent.log")
        defer { ProcessRunner.stop(listener) }
        let stalled = try fixture.psql(["SELECT 1"], connection: "orders-stalled")
        #expect(stalled.status != 0)
        #expect(stalled.output.contains("the upstream database at 127.0.0.1:\(stalledPort) did not complete its start-up within 2 s (upstream_timeout)"), "\(stalled.output)")
        // Everyone else is served meanwhile and afterwards.
        #expect(try fixture.psql(["SELECT 'still-serving'"]).output.contains("still-serving"))
        let security = try fixture.idp.token(subject: "sec-1", groups: ["security"])
        var audited = false
        for _ in 0..<50 where !audited {
            let events = try await HTTPProbe.audit(adminPort: fixture.adminPort, token: security, query: "&connection=orders-stalled")
            audited = events.contains { $0["action"] as? String == "error" && ($0["detail"] as? String)?.contains("upstream_timeout") == true }
            if !audited { try await Task.sleep(for: .milliseconds(100)) }
        }
        #expect(audited)
        #expect(await fixture.stop() == 0)
    }

    @Test(.timeLimit(.minutes(2))) func anSSHTargetThatNeverAnswersIsBoundedByUpstreamTimeout() async throws {
        let stalledPort = ProcessRunner.freePort()
        let fixture = try await SSHGatewayFixture.start(service: "upstream_timeout: 2s", stalledPort: stalledPort)
        let listener = try Self.silentListener(port: stalledPort, log: fixture.directory + "/silent.log")
        defer { ProcessRunner.stop(listener) }
        let stalled = try fixture.ssh("stalled", "echo must-not-run")
        #expect(stalled.status != 0)
        #expect(stalled.output.contains("the target did not complete the SSH handshake within 2 s (upstream_timeout)"), "\(stalled.output)")
        #expect(try fixture.ssh("web", "echo still-serving").output.contains("still-serving"))
        #expect(await fixture.stop() == 0)
    }

    @Test(.timeLimit(.minutes(2))) func aKubeAPIServerThatNeverAnswersIsBoundedByUpstreamTimeout() async throws {
        let stalledPort = ProcessRunner.freePort()
        try await KubeGatewayFixture.with(service: "upstream_timeout: 2s", stalledPort: stalledPort) { fixture in
            let listener = try Self.silentListener(port: stalledPort, log: fixture.directory + "/silent.log")
            defer { ProcessRunner.stop(listener) }
            let python = try PythonEnvironment.python(importing: "aiohttp", from: "aiohttp")
            let url = "wss://127.0.0.1:\(fixture.port)/connections/stalled/api/v1/namespaces/default/pods/web-1/exec?command=echo&command=must-not-run&stdout=1"
            // The stream request itself, with aiohttp: kubectl's discovery requests would fail first.
            let exec = try ProcessRunner.run(python, [PythonEnvironment.script("kube_exec_client.py"), "print", url, try fixture.agentToken(), fixture.directory + "/tls.crt"])
            #expect(exec.contains("the API server did not open the stream within 2 s (upstream_timeout)"), "\(exec)")
            #expect(exec.contains("closed"))
            // A passthrough request: dialled, TLS never answered, bounded the same way.
            let get = try fixture.kubectl(["get", "pods"], connection: "stalled")
            #expect(get.status != 0)
            #expect(!get.output.contains("Client.Timeout"), "answered by the gateway, not by kubectl giving up: \(get.output)")
            #expect(try fixture.kubectl(["exec", "web-1", "--", "echo", "still-serving"]).output.contains("still-serving"))
        }
    }

    @Test(.timeLimit(.minutes(2))) func aTargetThatDiesMidResultEndsTheSessionWithItsRecordingSealed() async throws {
        let fixture = try await PostgresGatewayFixture.start(maxRows: 100_000_000)
        // A result of a few hundred megabytes, streamed; the backend is terminated while it flows.
        let output = fixture.directory + "/long.out"
        let psql = fixture.psql
        let token = try fixture.agentToken()
        let client = try ProcessRunner.spawn(
            [psql, "-X", "-At", "host=127.0.0.1 port=\(fixture.port) dbname=orders user=agent sslmode=disable",
             "-c", "SELECT g, repeat('x', 200) FROM generate_series(1, 3000000) g"],
            environment: ["PGPASSWORD": token], output: output
        )
        defer { ProcessRunner.stop(client) }
        var terminated = ""
        for _ in 0..<100 {
            terminated = try fixture.direct("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE query LIKE '%generate_series(1, 3000000)%' AND pid <> pg_backend_pid()")
            if terminated.trimmingCharacters(in: .whitespacesAndNewlines) == "1" { break }
            try await Task.sleep(for: .milliseconds(100))
        }
        #expect(terminated.trimmingCharacters(in: .whitespacesAndNewlines) == "1")
        var status: Int32 = 0
        waitpid(client, &status, 0)
        let text = (try? String(contentsOfFile: output, encoding: .utf8)) ?? ""
        #expect(text.contains("terminating connection due to administrator command") || text.contains("server closed the connection"), "\(text.suffix(400))")
        // The gateway serves the next session, and the cut one is sealed and verifies.
        #expect(try fixture.psql(["SELECT 'still-serving'"]).output.contains("still-serving"))
        let recordings = fixture.directory + "/recordings"
        var sealed: [String] = []
        #expect(await eventually { sealed = RecordingFolders.sealed(in: recordings); return sealed.count == 2 }, "\(sealed)")
        for folder in sealed { _ = try RecordingVerifier.verify(folder: folder) }
        let events = sealed.compactMap { try? String(contentsOfFile: $0 + "/events.jsonl", encoding: .utf8) }
        #expect(events.contains { $0.contains("generate_series(1, 3000000)") })
        #expect(await fixture.stop() == 0)
    }
}

import Foundation
import GatewayRecording
import GatewayTesting
import Testing

/// The state store (PostgreSQL here, its own server so that it can be halted) goes away while
/// the gateway serves. New sessions are refused (fail closed: a session nobody could list,
/// kill or audit in the store does not start) with the protocol's own error; `/readyz` says
/// why; a session already open goes on; every audit event waits in the fallback file and
/// reaches the store once it answers again, without a restart.
@Suite("State store outage", .serialized)
struct StateStoreOutageTests {
    static let inFlightClient = """
        import os, sys, time, psycopg
        conn = psycopg.connect(sys.argv[1], autocommit=True)
        print("before", conn.execute("SELECT 'before-outage'").fetchone()[0], flush=True)
        while not os.path.exists(sys.argv[2]):
            time.sleep(0.05)
        print("during", conn.execute("SELECT 'during-outage'").fetchone()[0], flush=True)
        try:
            conn.execute("UPDATE customers SET note = 'held' WHERE id = 2")
            print("update ran", flush=True)
        except Exception as error:
            print("update refused:", error, flush=True)
        print("after", conn.execute("SELECT 'after-refusal'").fetchone()[0], flush=True)
        conn.close()
        print("closed", flush=True)
        """

    @Test(.timeLimit(.minutes(3))) func postgresGatewayFailsClosedAndLosesNothing() async throws {
        let store = try TemporaryPostgres.start()
        defer { store.stop() }
        let url = try store.createDatabase()
        let fixture = try await PostgresGatewayFixture.start(state: url)
        let python = try PythonEnvironment.python(importing: "psycopg", from: "psycopg[binary]")
        try Self.inFlightClient.write(toFile: fixture.directory + "/inflight.py", atomically: true, encoding: .utf8)
        let go = fixture.directory + "/go"
        let output = fixture.directory + "/inflight.out"
        let conninfo = "host=127.0.0.1 port=\(fixture.port) dbname=orders user=agent password=\(try fixture.agentToken()) sslmode=disable"
        let client = try ProcessRunner.spawn([python, fixture.directory + "/inflight.py", conninfo, go], output: output)
        defer { ProcessRunner.stop(client) }
        let read = { (try? String(contentsOfFile: output, encoding: .utf8)) ?? "" }
        #expect(await eventually { read().contains("before before-outage") }, "\(read())")

        try store.halt()
        // /readyz turns 503 and names the state store (the fixture's orders-down target keeps
        // it 503 anyway: the state check itself is what is read).
        var state = ""
        #expect(await eventually(timeout: .seconds(60)) {
            state = (try? await fixture.readinessChecks())?["state"] ?? ""
            return state.hasPrefix("state store unreachable")
        }, "\(state)")

        // A new session is refused, in PostgreSQL's own terms, and nothing reaches the target.
        let refusal = try fixture.startupRefusal()
        #expect(refusal?.field("C") == "57P03")
        #expect(refusal?.field("S") == "FATAL")
        let refused = try fixture.psql(["SELECT 'must-not-run'"])
        #expect(refused.status != 0)
        #expect(refused.output.contains("access gateway: the gateway's state store is unreachable; new sessions are refused until it answers"), "\(refused.output)")
        #expect(try fixture.direct("SELECT count(*) FROM pg_stat_activity WHERE query LIKE '%must-not-run%' AND pid <> pg_backend_pid()").hasPrefix("0"))

        // The session already open goes on.
        FileManager.default.createFile(atPath: go, contents: Data())
        #expect(await eventually { read().contains("closed") }, "\(read())")
        #expect(read().contains("during during-outage"))
        // A write that needs review cannot be filed without the store: refused, session usable.
        #expect(read().contains("update refused: access gateway: "), "\(read())")
        #expect(read().contains("needs approval (rule \"writes\") and the review could not be stored"), "\(read())")
        #expect(read().contains("after after-refusal"))

        // Its events and the refusal wait in the fallback file.
        let fallback = fixture.directory + "/recordings/audit-fallback.jsonl"
        var waiting = ""
        #expect(await eventually {
            waiting = (try? String(contentsOfFile: fallback, encoding: .utf8)) ?? ""
            return waiting.contains("during-outage") && waiting.contains("\"state-store\"") && waiting.contains("\"disconnect\"")
        }, "\(waiting)")
        #expect(OwnerOnlyFilesTests.mode(fallback).map { $0 & 0o777 } == 0o600)

        // The store comes back: the events move into it without a restart, and sessions start again.
        try store.restart()
        // (A replay renames the file while it works: both names are gone once it is done.)
        #expect(await eventually(timeout: .seconds(30)) {
            !FileManager.default.fileExists(atPath: fallback) && !FileManager.default.fileExists(atPath: fallback + ".replaying")
        })
        let security = try fixture.idp.token(subject: "sec-1", groups: ["security"])
        let events = try await HTTPProbe.audit(adminPort: fixture.adminPort, token: security, query: "&connection=orders")
        #expect(events.contains { ($0["command"] as? String)?.contains("during-outage") == true })
        #expect(events.contains { $0["action"] as? String == "deny" && $0["rule"] as? String == "state-store" })
        #expect(await eventually { (try? await fixture.readinessChecks())?["state"] == "ok" })
        #expect(try fixture.psql(["SELECT 'after-outage'"]).output.contains("after-outage"))

        // The session that ran through the outage is sealed and verifies; the refused one left
        // a sealed recording saying why.
        let recordings = fixture.directory + "/recordings"
        let folders = RecordingFolders.sessions(in: recordings)
        #expect(await eventually { folders.allSatisfy(RecordingFolders.isSealed) })
        for folder in folders { _ = try RecordingVerifier.verify(folder: folder) }
        let metas = folders.compactMap { try? String(contentsOfFile: $0 + "/meta.json", encoding: .utf8) }
        #expect(metas.contains { $0.contains("\"refused\"") })
        #expect(await fixture.stop() == 0)
    }

    /// Waits until the gateway's `/readyz` reports the store unreachable (its first operation
    /// after the halt waits out the store's 15 s timeout; later ones fail at once).
    static func untilUnreachable(adminPort: Int) async -> Bool {
        await eventually(timeout: .seconds(60)) {
            let response = try? await HTTPProbe.get(host: "127.0.0.1", port: adminPort, path: "/readyz")
            let checks = (response?.json() as? [String: Any])?["checks"] as? [String: String]
            return checks?["state"]?.hasPrefix("state store unreachable") == true
        }
    }

    @Test(.timeLimit(.minutes(3))) func sshGatewayTellsTheClientWhyOnStderr() async throws {
        let store = try TemporaryPostgres.start()
        defer { store.stop() }
        let fixture = try await SSHGatewayFixture.start(state: try store.createDatabase())
        #expect(try fixture.ssh("web", "echo before-outage").output.contains("before-outage"))
        // sshd (LogLevel VERBOSE) logs each session it starts: the target's own account of
        // what reached it.
        func sessionsStarted() -> Int { fixture.sshd.log.components(separatedBy: "Starting session:").count - 1 }
        let before = sessionsStarted()
        #expect(before >= 1, "\(fixture.sshd.log.suffix(600))")
        try store.halt()
        #expect(await Self.untilUnreachable(adminPort: fixture.adminPort))
        let refused = try fixture.ssh("web", "echo must-not-run")
        #expect(refused.status == 1)
        #expect(refused.output.contains("access gateway: the gateway's state store is unreachable; new sessions are refused until it answers"), "\(refused.output)")
        #expect(!refused.output.contains("must-not-run\n"))
        #expect(sessionsStarted() == before, "the refused command never reached the target")
        try store.restart()
        #expect(await eventually(timeout: .seconds(30)) {
            (try? fixture.ssh("web", "echo after-outage"))?.output.contains("after-outage") == true
        })
        #expect(await fixture.stop() == 0)
    }

    @Test(.timeLimit(.minutes(3))) func kubeGatewayAnswersServiceUnavailable() async throws {
        let store = try TemporaryPostgres.start()
        defer { store.stop() }
        try await KubeGatewayFixture.with(state: try store.createDatabase()) { fixture in
            #expect(try fixture.kubectl(["exec", "web-1", "--", "echo", "before-outage"]).output.contains("before-outage"))
            try store.halt()
            #expect(await Self.untilUnreachable(adminPort: fixture.adminPort))
            let exec = try fixture.kubectl(["exec", "web-1", "--", "echo", "must-not-run"])
            #expect(exec.status != 0)
            #expect(exec.output.contains("the gateway's state store is unreachable"), "\(exec.output)")
            let get = try fixture.kubectl(["get", "pods"])
            #expect(get.status != 0)
            #expect(get.output.contains("the gateway's state store is unreachable"), "\(get.output)")
            try store.restart()
            #expect(await eventually(timeout: .seconds(30)) {
                let response = try? await HTTPProbe.get(host: "127.0.0.1", port: fixture.adminPort, path: "/readyz")
                return ((response?.json() as? [String: Any])?["checks"] as? [String: String])?["state"] == "ok"
            })
            #expect(try fixture.kubectl(["exec", "web-1", "--", "echo", "after-outage"]).output.contains("after-outage"))
        }
    }
}

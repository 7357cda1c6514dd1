import Foundation
import GatewayRecording
import GatewayTesting
import Testing

/// The recordings disk fills up (a small tmpfs and a filler file: the kernel's own ENOSPC).
/// A connection with `record: true` refuses new sessions with a clear error rather than run
/// them unrecorded, and ends the ones in flight whose recording can no longer be written,
/// each sealed with what was written and a note of the gap. `record: best_effort` runs on,
/// audited as unrecorded. Nothing written before is lost; the seals verify.
@Suite("Recordings disk full", .serialized)
struct RecordingDiskFullTests {
    static let client = """
        import os, sys, time, psycopg
        conninfo, go, label, count = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
        conn = psycopg.connect(conninfo, autocommit=True)
        print("before", conn.execute(f"SELECT 'before-{label}'").fetchone()[0], flush=True)
        while not os.path.exists(go):
            time.sleep(0.05)
        try:
            for i in range(count):
                conn.execute(f"SELECT 'during-{label}-{i}', repeat('r', 400)").fetchone()
                time.sleep(0.1)
            print("completed", flush=True)
        except Exception as error:
            print("ended:", error, flush=True)
        """

    static func requireSmallDisk() -> Bool {
        guard SmallDisk.available else {
            #expect(ProcessInfo.processInfo.environment["GATEWAY_REQUIRE_PEERS"] == nil, "mounting a tmpfs (root) is required in CI")
            return false
        }
        return true
    }

    @Test(.timeLimit(.minutes(3))) func postgresRefusesNewSessionsAndEndsRecordedOnesSealed() async throws {
        guard Self.requireSmallDisk() else { return }
        let disk = try SmallDisk(size: "2m")
        defer { disk.unmount() }
        let fixture = try await PostgresGatewayFixture.start(recordings: disk.path)
        let python = try PythonEnvironment.python(importing: "psycopg", from: "psycopg[binary]")
        let script = fixture.directory + "/client.py"
        try Self.client.write(toFile: script, atomically: true, encoding: .utf8)
        let go = fixture.directory + "/go"
        let token = try fixture.agentToken()
        func start(_ connection: String, _ label: String, _ count: Int) throws -> (pid_t, () -> String) {
            let output = fixture.directory + "/\(label).out"
            let conninfo = "host=127.0.0.1 port=\(fixture.port) dbname=\(connection) user=agent password=\(token) sslmode=disable"
            let pid = try ProcessRunner.spawn([python, script, conninfo, go, label, "\(count)"], output: output)
            return (pid, { (try? String(contentsOfFile: output, encoding: .utf8)) ?? "" })
        }
        let (required, requiredOutput) = try start("orders", "required", 100)
        defer { ProcessRunner.stop(required) }
        let (bestEffort, bestEffortOutput) = try start("orders-best-effort", "besteffort", 40)
        defer { ProcessRunner.stop(bestEffort) }
        #expect(await eventually { requiredOutput().contains("before-required") && bestEffortOutput().contains("before-besteffort") })

        disk.fill()
        // New sessions: refused where a recording is required, run unrecorded where not.
        #expect(try fixture.startupRefusal()?.field("C") == "53100")
        let refused = try fixture.psql(["SELECT 'must-not-run'"])
        #expect(refused.status != 0)
        #expect(refused.output.contains("the session cannot be recorded (the gateway's recordings disk is full or failing), and connection \"orders\" requires a recording"), "\(refused.output)")
        #expect(!refused.output.contains(disk.path), "the client is not told the gateway's paths")
        #expect(try fixture.psql(["SELECT 'unrecorded-ok'"], connection: "orders-best-effort").output.contains("unrecorded-ok"))

        // Sessions in flight: the recorded one is ended with a clear error, the best-effort one goes on.
        FileManager.default.createFile(atPath: go, contents: Data())
        #expect(await eventually(timeout: .seconds(30)) { requiredOutput().contains("ended:") }, "\(requiredOutput())")
        #expect(requiredOutput().contains("the session's recording failed (the gateway's recordings disk is full or failing), and connection \"orders\" requires one: the session is ended"), "\(requiredOutput())")
        #expect(await eventually(timeout: .seconds(30)) { bestEffortOutput().contains("completed") }, "\(bestEffortOutput())")

        // Both recordings are sealed with what was written, note the gap, and verify.
        var folders: [String] = []
        #expect(await eventually { folders = RecordingFolders.sealed(in: disk.path); return folders.count == 2 }, "\(folders)")
        for folder in folders {
            _ = try RecordingVerifier.verify(folder: folder)
            let events = try String(contentsOfFile: folder + "/events.jsonl", encoding: .utf8)
            #expect(events.contains("before-"), "what was written before the disk filled is kept")
            let meta = try String(contentsOfFile: folder + "/meta.json", encoding: .utf8)
            if meta.contains("\"connection\" : \"orders\"") {
                #expect(events.contains("the recording stopped early"), "\(events.suffix(300))")
            } else {
                // The best-effort session's recording either failed too (and says where), or
                // found room again once the other session gave its reserve back: then it is whole.
                #expect(events.contains("the recording stopped early") || events.contains("during-besteffort-39"), "\(events.suffix(300))")
            }
        }
        let security = try fixture.idp.token(subject: "sec-1", groups: ["security"])
        let audit = try await HTTPProbe.audit(adminPort: fixture.adminPort, token: security)
        #expect(audit.contains { $0["action"] as? String == "deny" && $0["rule"] as? String == "recording" && $0["connection"] as? String == "orders" })
        #expect(audit.contains { $0["action"] as? String == "kill" && $0["rule"] as? String == "recording" && $0["connection"] as? String == "orders" })
        #expect(audit.contains { $0["action"] as? String == "error" && ($0["detail"] as? String)?.contains("record: best_effort") == true })
        let metrics = try await HTTPProbe.get(host: "127.0.0.1", port: fixture.adminPort, path: "/metrics").text
        let failures = metrics.split(separator: "\n").filter { $0.hasPrefix("gateway_recording_failures_total{") && $0.contains("connection=\"orders\"") }
        #expect(failures.count == 1 && !(failures.first?.hasSuffix(" 0") ?? true), "\(failures)")

        // Room again: sessions are recorded again.
        disk.free()
        #expect(try fixture.psql(["SELECT 'recorded-again'"]).output.contains("recorded-again"))
        #expect(await eventually { RecordingFolders.sealed(in: disk.path).count == 3 })
        #expect(await fixture.stop() == 0)
    }

    @Test(.timeLimit(.minutes(3))) func sshRefusesNewSessionsAndEndsARecordedOneSealed() async throws {
        guard Self.requireSmallDisk() else { return }
        let disk = try SmallDisk(size: "2m")
        defer { disk.unmount() }
        let fixture = try await SSHGatewayFixture.start(recordings: disk.path)
        #expect(try fixture.ssh("web", "echo recorded-before").output.contains("recorded-before"))
        #expect(await eventually { RecordingFolders.allSealed(in: disk.path) })
        // A session in flight, printing for a while.
        let output = fixture.directory + "/loop.out"
        let loop = try ProcessRunner.spawn(
            ["/usr/bin/sshpass", "-e", "/usr/bin/ssh"] + SSHGatewayFixture.clientOptions
                + ["-p", "\(fixture.port)", "web@127.0.0.1", "for i in $(seq 1 100); do echo line-$i-$(head -c 300 /dev/zero | tr '\\0' x); sleep 0.1; done"],
            environment: ["SSHPASS": try fixture.agentToken()], output: output
        )
        defer { ProcessRunner.stop(loop) }
        let read = { (try? String(contentsOfFile: output, encoding: .utf8)) ?? "" }
        #expect(await eventually { read().contains("line-3-") })
        disk.fill()
        let refused = try fixture.ssh("web", "echo must-not-run")
        #expect(refused.status == 1)
        #expect(refused.output.contains("access gateway: the session cannot be recorded (the gateway's recordings disk is full or failing), and connection \"web\" requires a recording"), "\(refused.output)")
        #expect(try fixture.ssh("web-best-effort", "echo unrecorded-ok").output.contains("unrecorded-ok"))
        #expect(await eventually(timeout: .seconds(30)) { read().contains("the session's recording failed") }, "\(read().suffix(300))")
        #expect(!read().contains("line-100-"))
        var status: Int32 = 0
        waitpid(loop, &status, 0)
        var folders: [String] = []
        #expect(await eventually { folders = RecordingFolders.sealed(in: disk.path); return folders.count == 2 }, "\(folders)")
        for folder in folders { _ = try RecordingVerifier.verify(folder: folder) }
        disk.free()
        #expect(try fixture.ssh("web", "echo recorded-again").output.contains("recorded-again"))
        #expect(await fixture.stop() == 0)
    }

    @Test(.timeLimit(.minutes(3))) func kubeRefusesNewSessionsWithServiceUnavailable() async throws {
        guard Self.requireSmallDisk() else { return }
        let disk = try SmallDisk(size: "2m")
        defer { disk.unmount() }
        try await KubeGatewayFixture.with(recordings: disk.path) { fixture in
            #expect(try fixture.kubectl(["exec", "web-1", "--", "echo", "recorded-before"]).output.contains("recorded-before"))
            // Sealed first: a session that ends gives its reserve back, which one more session could start in.
            #expect(await eventually { RecordingFolders.allSealed(in: disk.path) })
            disk.fill()
            let exec = try fixture.kubectl(["exec", "web-1", "--", "echo", "must-not-run"])
            #expect(exec.status != 0)
            #expect(exec.output.contains("the session cannot be recorded"), "\(exec.output)")
            let get = try fixture.kubectl(["get", "pods"])
            #expect(get.output.contains("the session cannot be recorded"), "\(get.output)")
            disk.free()
            #expect(try fixture.kubectl(["exec", "web-1", "--", "echo", "recorded-again"]).output.contains("recorded-again"))
            for folder in RecordingFolders.sealed(in: disk.path) { _ = try RecordingVerifier.verify(folder: folder) }
        }
    }
}

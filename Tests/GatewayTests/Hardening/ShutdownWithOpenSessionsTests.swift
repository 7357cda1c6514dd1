import Foundation
import GatewayRecording
import GatewayTesting
import Testing

/// SIGTERM while a hundred sessions are open: the gateway ends each one in the protocol's own
/// way, seals every recording (none is left to crash recovery) and exits 0.
@Suite("SIGTERM with open sessions", .serialized)
struct ShutdownWithOpenSessionsTests {
    static let sessions = 100

    static let postgresClients = """
        import os, sys, time, psycopg
        conninfo, count, go = sys.argv[1], int(sys.argv[2]), sys.argv[3]
        conns = []
        for i in range(count):
            conn = psycopg.connect(conninfo, autocommit=True)
            conn.execute(f"SELECT 'open-{i}'").fetchone()
            conns.append(conn)
        print("opened", len(conns), flush=True)
        while not os.path.exists(go):
            time.sleep(0.05)
        ended = told = 0
        for conn in conns:
            try:
                conn.execute("SELECT 1").fetchone()
            except Exception as error:
                ended += 1
                told += "shutting down" in str(error)
        print("ended", ended, "told", told, flush=True)
        """

    static let sshClients = """
        import asyncio, sys, asyncssh
        async def one(i, port, token, gate):
            async with gate:
                conn = await asyncssh.connect("127.0.0.1", port=port, username="web", password=token, known_hosts=None, client_keys=None, agent_path=None)
                proc = await conn.create_process(f"echo open-{i}; sleep 300")
                await proc.stdout.readline()
            return conn, proc
        async def main():
            port, token, count = int(sys.argv[1]), sys.argv[2], int(sys.argv[3])
            gate = asyncio.Semaphore(8)
            pairs = await asyncio.gather(*[one(i, port, token, gate) for i in range(count)])
            print("opened", len(pairs), flush=True)
            async def finish(proc):
                # wait() collects what is left of stdout and stderr into its result.
                completed = await proc.wait()
                return (completed.exit_status, completed.stderr or "")
            results = await asyncio.gather(*[finish(p) for _, p in pairs], return_exceptions=True)
            told = sum(1 for r in results if not isinstance(r, BaseException) and "shutting down" in r[1])
            print("ended", len(results), "told", told, flush=True)
        asyncio.run(main())
        """

    /// Every session folder is sealed by the gateway itself (not `recovered`) and verifies.
    static func expectAllSealed(_ root: String, count: Int, marker: String) throws {
        let folders = RecordingFolders.sessions(in: root)
        #expect(folders.count == count)
        var opened = Set<String>()
        for folder in folders {
            let report = try RecordingVerifier.verify(folder: folder)
            #expect(!report.seal.recovered, "\(folder) was left to recovery")
            let events = try String(contentsOf: URL(fileURLWithPath: folder + "/" + (marker == "cast" ? "terminal.cast" : "events.jsonl")), encoding: .utf8)
            if let range = events.range(of: #"open-\d+"#, options: .regularExpression) { opened.insert(String(events[range])) }
        }
        #expect(opened.count == count, "every session's own output is in its recording")
    }

    @Test(.timeLimit(.minutes(4))) func postgresGatewaySealsEverySessionAndExitsZero() async throws {
        let python = try PythonEnvironment.python(importing: "psycopg", from: "psycopg[binary]")
        let fixture = try await PostgresGatewayFixture.start()
        let script = fixture.directory + "/clients.py"
        try Self.postgresClients.write(toFile: script, atomically: true, encoding: .utf8)
        let output = fixture.directory + "/clients.out"
        let go = fixture.directory + "/go"
        let conninfo = "host=127.0.0.1 port=\(fixture.port) dbname=orders user=agent password=\(try fixture.agentToken()) sslmode=disable"
        let clients = try ProcessRunner.spawn([python, script, conninfo, "\(Self.sessions)", go], output: output)
        defer { ProcessRunner.stop(clients) }
        let read = { (try? String(contentsOfFile: output, encoding: .utf8)) ?? "" }
        #expect(await eventually(timeout: .seconds(120)) { read().contains("opened \(Self.sessions)") }, "\(read())")
        #expect(await fixture.gateway.stop(timeout: .seconds(60)) == 0)
        await fixture.idp.stop()
        FileManager.default.createFile(atPath: go, contents: Data())
        #expect(await eventually { read().contains("ended \(Self.sessions)") }, "\(read())")
        #expect(read().contains("told \(Self.sessions)"), "each client is told why: \(read())")
        try Self.expectAllSealed(fixture.directory + "/recordings", count: Self.sessions, marker: "events")
        #expect(!fixture.gateway.log.contains("sessions still ending when the drain gave up"))
    }

    @Test(.timeLimit(.minutes(4))) func sshGatewaySealsEverySessionAndExitsZero() async throws {
        let python = try PythonEnvironment.python(importing: "asyncssh", from: "asyncssh")
        let fixture = try await SSHGatewayFixture.start()
        let script = fixture.directory + "/clients.py"
        try Self.sshClients.write(toFile: script, atomically: true, encoding: .utf8)
        let output = fixture.directory + "/clients.out"
        let clients = try ProcessRunner.spawn([python, script, "\(fixture.port)", try fixture.agentToken(), "\(Self.sessions)"], output: output)
        defer { ProcessRunner.stop(clients) }
        let read = { (try? String(contentsOfFile: output, encoding: .utf8)) ?? "" }
        #expect(await eventually(timeout: .seconds(120)) { read().contains("opened \(Self.sessions)") }, "\(read())")
        #expect(await fixture.gateway.stop(timeout: .seconds(60)) == 0)
        _ = await fixture.stop()
        #expect(await eventually { read().contains("ended \(Self.sessions)") }, "\(read())")
        #expect(read().contains("told \(Self.sessions)"), "each client is told why: \(read())")
        try Self.expectAllSealed(fixture.directory + "/recordings", count: Self.sessions, marker: "cast")
        #expect(!fixture.gateway.log.contains("sessions still ending when the drain gave up"))
    }
}

import Foundation
import GatewayRecording
import GatewayRuntime
import GatewayTesting
import Testing

@Suite("postgres-gateway against a real PostgreSQL", .serialized)
struct PostgresGatewayTests {
    @Test func masksBlocksAndStaysUsable() async throws {
        let fixture = try await PostgresGatewayFixture.start()
        let result = try fixture.psql([
            "SELECT id, name, email, note FROM customers ORDER BY id",
            "DROP TABLE customers",
            "SELECT count(*) FROM customers",
            "SELECT 1; /* sneaky */ DROP TABLE customers",
            "DELETE FROM customers",
            "DELETE FROM customers WHERE id = 99",
            // A masked column under an alias is still masked; other columns under one are not.
            "SELECT c.name AS who, c.id AS ident FROM customers c ORDER BY c.id",
            // So is a whole row of a table with a masked column, or an array of its rows.
            "SELECT c FROM customers c WHERE c.id = 2",
            "SELECT array_agg(c) FROM customers c",
            // Or a masked column as a key in JSON (json_agg, as agents' tools often wrap results).
            "SELECT json_agg(c) FROM customers c",
            "SELECT to_jsonb(c) FROM customers c WHERE c.id = 2",
            // Values that leave as a notification's payload or an error's hint are scanned too.
            "LISTEN ch",
            "SELECT pg_notify('ch', email) FROM customers WHERE id = 1",
            "DO $$ BEGIN RAISE EXCEPTION 'no' USING HINT = (SELECT email FROM customers WHERE id = 1); END $$",
        ])
        #expect(result.output.contains("1|[MASKED]|[EMAIL]|card [CREDIT_CARD]"))
        #expect(result.output.contains("[MASKED]|1\n[MASKED]|2"), "\(result.output)")
        #expect(result.output.contains("[MASKED]|2\n[MASKED]\n[MASKED]\n"), "\(result.output)")
        #expect(!result.output.contains("Bob"))
        #expect(result.output.contains(#""name":"[MASKED]","email":"[EMAIL]""#), "\(result.output)")
        #expect(result.output.contains(#""name": "[MASKED]""#), "\(result.output)")
        #expect(!result.output.contains("Jane Roe"))
        #expect(result.output.contains("notification \"ch\" with payload \"[EMAIL]\""), "\(result.output)")
        #expect(result.output.contains("HINT:  [EMAIL]"), "\(result.output)")
        #expect(result.output.contains("2|[MASKED]|[EMAIL]|"))
        #expect(!result.output.contains("jane@example.com"))
        #expect(result.output.contains("blocked by guardrail \"no-drop\": DROP is not allowed here"))
        #expect(result.output.contains("blocked by guardrail \"no-unbounded-delete\""))
        // The session went on after each block; nothing reached the database.
        #expect(result.output.split(separator: "\n").contains("2"))
        #expect(result.output.contains("DELETE 0"))
        #expect(try fixture.direct("SELECT count(*) FROM customers").trimmingCharacters(in: .whitespacesAndNewlines) == "2")

        // Metrics count the decisions and the masked values, by bounded labels.
        let metrics = try await HTTPProbe.get(host: "127.0.0.1", port: fixture.adminPort, path: "/metrics").text.split(separator: "\n")
        let blocks = metrics.first { $0.hasPrefix("gateway_decisions_total") && $0.contains("connection=\"orders\"") && $0.contains("decision=\"block\"") }
        #expect(blocks?.hasSuffix(" 3") == true, "\(blocks ?? "none")")
        #expect(metrics.contains { $0.hasPrefix("gateway_masking_hits_total") && $0.contains("entity=\"EMAIL\"") })
        #expect(metrics.contains { $0.hasPrefix("gateway_sessions_total") && $0.contains("connection=\"orders\"") && $0.hasSuffix(" 1") })
        // Relayed bytes reach the counters once a second and when a session ends (psql has
        // exited; the gateway may still be closing its session).
        var relayed: [String: Double] = [:]
        for _ in 0..<50 where relayed.count < 2 {
            let lines = try await HTTPProbe.get(host: "127.0.0.1", port: fixture.adminPort, path: "/metrics").text.split(separator: "\n")
            for direction in ["upstream", "downstream"] {
                let line = lines.first { $0.hasPrefix("gateway_bytes_relayed_total") && $0.contains("direction=\"\(direction)\"") }
                if let value = line?.split(separator: " ").last.flatMap({ Double($0) }), value > 0 { relayed[direction] = value }
            }
            if relayed.count < 2 { try await Task.sleep(for: .milliseconds(200)) }
        }
        #expect(relayed.count == 2, "bytes relayed both ways: \(relayed)")
        // psql's queries are a few hundred bytes; the results, with the server's start-up messages, more.
        #expect((relayed["upstream"] ?? 0) > 100 && (relayed["downstream"] ?? 0) > (relayed["upstream"] ?? 0))

        // Masking is a decision: audited per statement, with what it hid.
        let first = "mask SELECT id, name, email, note FROM customers ORDER BY id"
        let audit = try await fixture.auditCommands { $0.contains(first) && $0.contains { $0.hasPrefix("mask DO ") } }
        #expect(audit.contains(first), "\(audit)")
        let security = try fixture.idp.token(subject: "sec-1", groups: ["security"])
        let auditEvents = try await HTTPProbe.get(host: "127.0.0.1", port: fixture.adminPort, path: "/api/audit?connection=orders", token: security).json() as? [[String: Any]] ?? []
        let masks = auditEvents.filter { $0["action"] as? String == "mask" }
        #expect(masks.first { $0["command"] as? String == "SELECT id, name, email, note FROM customers ORDER BY id" }?["detail"] as? String == "COLUMN=2 CREDIT_CARD=1 EMAIL=2", "\(masks)")
        // The notification's payload (outside any result) and the error's hint.
        #expect(masks.contains { $0["command"] == nil && $0["detail"] as? String == "EMAIL=1" }, "\(masks)")
        #expect(masks.contains { ($0["command"] as? String)?.hasPrefix("DO ") == true && $0["detail"] as? String == "EMAIL=1" }, "\(masks)")
        #expect(masks.allSatisfy { $0["sub"] as? String == "agent-1" })
        #expect(await fixture.stop() == 0)

        // The recording is sealed and names the blocked statement.
        let (folder, events) = try fixture.onlyRecording()
        #expect(events.contains("\"decision\":\"block\""))
        #expect(events.contains("\"rule\":\"no-drop\""))
        #expect(events.contains("\"type\":\"result\""))
        // Results are recorded as the client saw them: masked.
        #expect(events.contains("\"columns\":[\"id\",\"name\",\"email\",\"note\"]"))
        #expect(events.contains("\"masked\":{\"COLUMN\":2,\"CREDIT_CARD\":1,\"EMAIL\":2}"), "\(events)")
        #expect(events.contains("[\"1\",\"[MASKED]\",\"[EMAIL]\",\"card [CREDIT_CARD]\"]"))
        #expect(!events.contains("jane@example.com"))
        // No query text or result in the service's log.
        #expect(!fixture.gateway.log.contains("customers"))
        // The replay shows the masked result.
        let play = try await GatewayProcess.run(binary: "gatewayctl", arguments: ["recordings", "play", folder, "--no-wait"])
        #expect(play.output.contains("1 | [MASKED] | [EMAIL] | card [CREDIT_CARD]"))
    }

    @Test func clientTLS() async throws {
        let fixture = try await PostgresGatewayFixture.start(tls: true)
        let secure = try fixture.psql(["\\conninfo", "SELECT email FROM customers WHERE id = 1"], sslmode: "require")
        #expect(secure.status == 0, "\(secure.output)")
        #expect(secure.output.contains("SSL connection (protocol: TLSv1.3"))
        #expect(secure.output.contains("[EMAIL]"))
        // Without TLS configured, sslmode=require is refused by the client: the gateway says N.
        #expect(await fixture.stop() == 0)
        let plain = try await PostgresGatewayFixture.start()
        let refused = try plain.psql(["SELECT 1"], sslmode: "require")
        #expect(refused.status != 0)
        #expect(refused.output.contains("server does not support SSL"))
        #expect(await plain.stop() == 0)
    }

    @Test func upstreamTLSModes() async throws {
        let fixture = try await PostgresGatewayFixture.start()
        let query = "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()"
        #expect(try fixture.psql([query], connection: "orders").output.trimmingCharacters(in: .whitespacesAndNewlines) == "f")
        for connection in ["orders-tls-prefer", "orders-tls-require", "orders-tls-verify"] {
            let result = try fixture.psql([query], connection: connection)
            #expect(result.output.trimmingCharacters(in: .whitespacesAndNewlines) == "t", "\(connection): \(result.output)")
        }
        let wrong = try fixture.psql([query], connection: "orders-tls-wrong-ca")
        #expect(wrong.status != 0)
        #expect(wrong.output.contains("TLS with the upstream database failed"))
        #expect(await fixture.stop() == 0)
    }

    @Test func protocol32IsNegotiatedDownAndGarbageGetsAnError() async throws {
        let fixture = try await PostgresGatewayFixture.start()
        // A raw client: StartupMessage for protocol 3.2 with a _pq_ option, then read the answers.
        let script = """
            import socket, struct, sys
            s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
            body = struct.pack("!I", (3 << 16) | 2) + b"user\\0agent\\0database\\0orders\\0_pq_.test\\0on\\0\\0"
            s.sendall(struct.pack("!I", len(body) + 4) + body)
            data = b""
            while len(data) < 64:
                chunk = s.recv(4096)
                if not chunk: break
                data += chunk
                if b"R" in data[:200] and len(data) >= 5: break
            print(data[:1].decode(), struct.unpack("!I", data[5:9])[0], data[13:23])
            t = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
            t.sendall(b"\\x00\\x00\\x00\\x08\\x12\\x34\\x56\\x78")
            print(t.recv(4096))
            """
        let output = try ProcessRunner.run("/usr/bin/python3", ["-c", script, "\(fixture.port)"])
        #expect(output.hasPrefix("v 0 b'_pq_.test"), "\(output)")
        #expect(output.contains("invalid start-up packet"), "\(output)")
        #expect(try await HTTPProbe.get(host: "127.0.0.1", port: fixture.adminPort, path: "/healthz").status == 200)
        #expect(await fixture.stop() == 0)
    }

    /// Several statements in one read, a blocked one among them, and two results in one answer
    /// (a raw client pipelining simple queries): each is answered in turn, the recording keeps
    /// the order things happened in and each result its own rows, and the audit trail has them all.
    @Test func pipelinedStatementsAreRecordedInOrder() async throws {
        let fixture = try await PostgresGatewayFixture.start()
        let script = """
            import socket, struct, sys
            def message(kind, body): return kind + struct.pack("!I", len(body) + 4) + body
            def read_until(s, kind, count):
                data, seen = b"", []
                while seen.count(kind) < count:
                    chunk = s.recv(65536)
                    if not chunk: break
                    data += chunk
                    seen, at = [], 0
                    while at + 5 <= len(data):
                        length = struct.unpack("!I", data[at + 1:at + 5])[0]
                        if at + 1 + length > len(data): break
                        seen.append(data[at:at + 1]); at += 1 + length
                return seen
            s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
            body = struct.pack("!I", 3 << 16) + b"user\\0agent\\0database\\0orders\\0\\0"
            s.sendall(struct.pack("!I", len(body) + 4) + body)
            read_until(s, b"R", 1)
            s.sendall(message(b"p", sys.argv[2].encode() + b"\\0"))
            read_until(s, b"Z", 1)
            batch = b"".join(message(b"Q", q.encode() + b"\\0") for q in ["SELECT 1 AS a", "DROP TABLE customers", "SELECT 2 AS b; SELECT 3 AS c"])
            s.sendall(batch)
            print(b"".join(read_until(s, b"Z", 3)).decode())
            s.sendall(message(b"X", b""))
            s.close()
            """
        let output = try ProcessRunner.run("/usr/bin/python3", ["-c", script, "\(fixture.port)", try fixture.agentToken()])
        // Each statement answered in turn, the blocked one with an error, the session still usable.
        #expect(output.trimmingCharacters(in: .whitespacesAndNewlines) == "TDCZEZTDCTDCZ", "\(output)")
        // The audit trail has the allowed and the blocked statements, in order.
        let audit = try await fixture.auditCommands(atLeast: 3)
        #expect(audit == ["allow SELECT 1 AS a", "block DROP TABLE customers", "allow SELECT 2 AS b; SELECT 3 AS c"], "\(audit)")
        #expect(await fixture.stop() == 0)

        let lines = try fixture.onlyRecording().events
        let events = try lines.split(separator: "\n").compactMap { try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
        func position(_ matches: ([String: Any]) -> Bool) -> Int { events.firstIndex(where: matches) ?? -1 }
        let first = position { $0["type"] as? String == "query" && $0["command"] as? String == "SELECT 1 AS a" && $0["decision"] as? String == "allow" }
        let blocked = position { $0["type"] as? String == "query" && $0["command"] as? String == "DROP TABLE customers" && $0["decision"] as? String == "block" }
        let last = position { $0["type"] as? String == "query" && $0["command"] as? String == "SELECT 2 AS b; SELECT 3 AS c" && $0["decision"] as? String == "allow" }
        let results = events.enumerated().filter { $0.element["type"] as? String == "result" }
        #expect(first >= 0 && blocked > first && last > blocked, "\(lines)")
        // The results in order, each with its own column and row.
        #expect(results.map { $0.element["columns"] as? [String] ?? [] } == [["a"], ["b"], ["c"]], "\(lines)")
        #expect(results.map { $0.element["values"] as? [[String]] ?? [] } == [[["1"]], [["2"]], [["3"]]], "\(lines)")
        #expect(results.first.map { $0.offset > first } == true)
        #expect(results.dropFirst().allSatisfy { $0.offset > last })
        // Each result names its own statement (also the second query's, and each statement of
        // a string with two) and how long it took.
        #expect(results.map { $0.element["command"] as? String } == ["SELECT 1 AS a", "SELECT 2 AS b", "SELECT 3 AS c"], "\(lines)")
        #expect(results.allSatisfy { $0.element["duration_ms"] is Double }, "\(lines)")
    }

    /// psql's `\lo_import` calls the large-object functions through the fast-path interface
    /// (FunctionCall messages, each answered with ReadyForQuery): the session goes on normally
    /// after them, a blocked statement still gets its answer, and the next one runs.
    @Test func largeObjectsThroughTheFastPathLeaveTheSessionUsable() async throws {
        let fixture = try await PostgresGatewayFixture.start()
        let file = fixture.directory + "/object.txt"
        try "large object contents\n".write(toFile: file, atomically: true, encoding: .utf8)
        let arguments = ["60", fixture.psql, "-X", "-At", "-v", "ON_ERROR_STOP=0", "host=127.0.0.1 port=\(fixture.port) dbname=orders user=agent"]
            + ["-c", "\\lo_import \(file)", "-c", "DROP TABLE customers", "-c", "SELECT 42"]
        let output: String
        do {
            output = try ProcessRunner.run("/usr/bin/timeout", arguments, environment: ["PGPASSWORD": try fixture.agentToken()])
        } catch let failure as ProcessRunner.Failure {
            output = "exit \(failure.status): \(failure.output)"
        }
        #expect(output.contains("lo_import "), "\(output)")
        #expect(output.contains("blocked by guardrail \"no-drop\""), "\(output)")
        #expect(output.split(separator: "\n").last == "42", "\(output)")
        #expect(try fixture.direct("SELECT count(*) FROM pg_largeobject_metadata").trimmingCharacters(in: .whitespacesAndNewlines) == "1")

        // Any other function through the fast path is refused (it carries no SQL to check), and
        // the session goes on.
        let backendPID = try fixture.direct("SELECT 'pg_catalog.pg_backend_pid'::regproc::oid").trimmingCharacters(in: .whitespacesAndNewlines)
        let script = """
            import socket, struct, sys
            def message(kind, body): return kind + struct.pack("!I", len(body) + 4) + body
            def read_until(s, kind):
                data = b""
                while True:
                    chunk = s.recv(65536)
                    if not chunk: return data
                    data += chunk
                    at = 0
                    while at + 5 <= len(data):
                        length = struct.unpack("!I", data[at + 1:at + 5])[0]
                        if at + 1 + length > len(data): break
                        if data[at:at + 1] == kind: return data
                        at += 1 + length
            s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
            body = struct.pack("!I", 3 << 16) + b"user\\0agent\\0database\\0orders\\0\\0"
            s.sendall(struct.pack("!I", len(body) + 4) + body)
            read_until(s, b"R")
            s.sendall(message(b"p", sys.argv[2].encode() + b"\\0"))
            read_until(s, b"Z")
            s.sendall(message(b"F", struct.pack("!Ihhh", int(sys.argv[3]), 0, 0, 0)))
            print(read_until(s, b"Z"))
            s.sendall(message(b"Q", b"SELECT 7 AS seven\\0"))
            print(read_until(s, b"Z"))
            """
        let raw = try ProcessRunner.run("/usr/bin/python3", ["-c", script, "\(fixture.port)", try fixture.agentToken(), backendPID])
        #expect(raw.contains("fast-path function calls are allowed only for large objects (function OID \(backendPID))"), "\(raw)")
        #expect(raw.contains("42501"), "\(raw)")
        #expect(raw.contains("seven"), "\(raw)")
        let audit = try await fixture.auditCommands { $0.contains("allow SELECT 7 AS seven") }
        #expect(audit.contains("allow SELECT pg_catalog.lowrite($1, $2)"), "\(audit)")
        #expect(audit.contains("block fast-path function call (OID \(backendPID))"), "\(audit)")
        #expect(await fixture.stop() == 0)

        // The large-object calls are recorded as the SQL they stand for.
        let recordings = fixture.directory + "/recordings"
        var lines = ""
        for session in try FileManager.default.contentsOfDirectory(atPath: recordings) where session.hasPrefix("s-") {
            lines += String(decoding: FileManager.default.contents(atPath: recordings + "/" + session + "/events.jsonl") ?? Data(), as: UTF8.self)
        }
        #expect(lines.contains("\"command\":\"SELECT pg_catalog.lo_open($1, $2)\",\"decision\":\"allow\""), "\(lines)")
        #expect(lines.contains("\"rule\":\"fast-path\""), "\(lines)")
    }

    /// libpq's PGOPTIONS (`options`) and the other start-up parameters the gateway passes on
    /// are SETs the client never sends as SQL: each is checked as that SET, so a guardrail on
    /// SET ROLE holds for `-c role=...` too, and switches that are not settings are refused.
    @Test func startupOptionsAreCheckedAsTheSetStatementsTheyAre() async throws {
        let fixture = try await PostgresGatewayFixture.start()
        func psql(options: String, _ command: String) throws -> String {
            let arguments = ["-X", "-At", "host=127.0.0.1 port=\(fixture.port) dbname=orders user=agent", "-c", command]
            do {
                return try ProcessRunner.run(fixture.psql, arguments, environment: ["PGPASSWORD": try fixture.agentToken(), "PGOPTIONS": options])
            } catch let failure as ProcessRunner.Failure {
                return "exit \(failure.status): \(failure.output)"
            }
        }
        // A setting policy allows reaches the server.
        #expect(try psql(options: "-c statement_timeout=5s", "SHOW statement_timeout").trimmingCharacters(in: .whitespacesAndNewlines) == "5s")
        // The same guardrail as for SQL.
        let viaOptions = try psql(options: "-c role=scram_user", "SELECT current_user")
        #expect(viaOptions.contains("the start-up setting SET role TO 'scram_user' is refused: blocked by guardrail \"no-set-role\": changing role is not allowed here"), "\(viaOptions)")
        #expect(try psql(options: "", "SET ROLE scram_user").contains("changing role is not allowed here"))
        // Split as the server splits it: CR LF separates settings.
        let hidden = try psql(options: "-c application_name=x\r\n-c\r\nrole=scram_user", "SELECT 1")
        #expect(hidden.contains("the start-up setting SET role TO 'scram_user' is refused"), "\(hidden)")
        // A switch that is not a setting (here: a server command-line option).
        #expect(try psql(options: "-P", "SELECT 1").contains("only -c name=value settings are accepted"))
        let audit = try await fixture.auditCommands { $0.contains("block SET role TO 'scram_user'") }
        #expect(audit.contains("block SET role TO 'scram_user'"), "\(audit)")
        #expect(await fixture.stop() == 0)
    }

    /// The session's catalog read for column masking names every function and operator with
    /// its schema: a `lower` of the client's own, put first in `search_path` by PGOPTIONS,
    /// cannot empty it and unmask aliases.
    @Test func aShadowingSearchPathDoesNotUnmaskAliases() async throws {
        let fixture = try await PostgresGatewayFixture.start()
        _ = try fixture.direct("""
            CREATE SCHEMA shadow;
            CREATE FUNCTION shadow.lower(text) RETURNS text LANGUAGE sql IMMUTABLE AS $$ SELECT 'nothing' $$;
            GRANT USAGE ON SCHEMA shadow TO scram_user;
            """)
        let arguments = ["-X", "-At", "host=127.0.0.1 port=\(fixture.port) dbname=orders user=agent", "-c", "SELECT name AS who FROM customers ORDER BY id"]
        let output = try ProcessRunner.run(fixture.psql, arguments, environment: ["PGPASSWORD": try fixture.agentToken(), "PGOPTIONS": "-c search_path=shadow,pg_catalog,public"])
        #expect(output.trimmingCharacters(in: .whitespacesAndNewlines) == "[MASKED]\n[MASKED]", "\(output)")
        #expect(await fixture.stop() == 0)
    }

    @Test func upstreamAuthenticationMethods() async throws {
        let fixture = try await PostgresGatewayFixture.start()
        for (connection, role) in [("orders", "scram_user"), ("orders-md5", "md5_user"), ("orders-trust", "trusted_user")] {
            let result = try fixture.psql(["SELECT current_user"], connection: connection)
            #expect(result.status == 0, "\(connection): \(result.output)")
            #expect(result.output.contains(role))
        }
        #expect(await fixture.stop() == 0)
    }

    @Test func refusesBadTokensAndUnknownConnections() async throws {
        let fixture = try await PostgresGatewayFixture.start()
        let forged = try fixture.psql(["SELECT 1"], token: try fixture.idp.forgedToken())
        #expect(forged.status != 0)
        #expect(forged.output.contains("token refused: the signature does not verify"))
        let expired = try fixture.psql(["SELECT 1"], token: try fixture.idp.token(expiresIn: -3600))
        #expect(expired.output.contains("token refused: the token expired"))
        let outsider = try fixture.psql(["SELECT 1"], token: try fixture.idp.token(subject: "eve", groups: ["contractors"]))
        #expect(outsider.output.contains("is not in allow_groups"))
        let unknown = try fixture.psql(["SELECT 1"], connection: "nope")
        #expect(unknown.output.contains("unknown connection \"nope\""))
        #expect(await fixture.stop() == 0)
    }

    @Test func upstreamDownGives08006AndTheGatewayStaysUp() async throws {
        let fixture = try await PostgresGatewayFixture.start()
        let down = try fixture.psql(["SELECT 1"], connection: "orders-down", extra: ["-v", "VERBOSITY=verbose"])
        #expect(down.status != 0)
        #expect(down.output.contains("cannot connect to the upstream database"))
        #expect(try await HTTPProbe.get(host: "127.0.0.1", port: fixture.adminPort, path: "/healthz").status == 200)
        // Readiness names the unreachable upstream and nothing else.
        let ready = try await HTTPProbe.get(host: "127.0.0.1", port: fixture.adminPort, path: "/readyz")
        #expect(ready.status == 503)
        let checks = (ready.json() as? [String: Any])?["checks"] as? [String: String] ?? [:]
        #expect(checks["upstream:orders-down"]?.contains("unreachable") == true)
        #expect(checks.filter { $0.value != "ok" }.keys.sorted() == ["upstream:orders-down"])
        #expect(try fixture.psql(["SELECT 42"]).output.contains("42"))
        #expect(await fixture.stop() == 0)
    }

    @Test func ctrlCInPsqlCancelsTheUpstreamQuery() async throws {
        let fixture = try await PostgresGatewayFixture.start()
        // psql sends a CancelRequest on SIGINT; the gateway maps its key to the upstream's.
        let output: String
        do {
            output = try ProcessRunner.run("/usr/bin/timeout", ["-s", "INT", "2", fixture.psql, "-X", "host=127.0.0.1 port=\(fixture.port) dbname=orders user=agent", "-c", "SELECT pg_sleep(30)"], environment: ["PGPASSWORD": try fixture.agentToken()])
        } catch let failure as ProcessRunner.Failure {
            output = failure.output
        }
        #expect(output.contains("canceling statement due to user request"))
        #expect(try fixture.direct("SELECT count(*) FROM pg_stat_activity WHERE query = 'SELECT pg_sleep(30)' AND state = 'active'").trimmingCharacters(in: .whitespacesAndNewlines) == "0")
        #expect(await fixture.stop() == 0)
    }

    @Test func killThroughTheAdminAPIEndsTheSession() async throws {
        let fixture = try await PostgresGatewayFixture.start()
        let token = try fixture.agentToken()
        let running = onOwnThread { try fixture.psql(["SELECT pg_sleep(300)"], token: token) }
        let security = try fixture.idp.token(subject: "sec-1", groups: ["security"])
        var sessionID: String?
        for _ in 0..<100 {
            let list = try await HTTPProbe.get(host: "127.0.0.1", port: fixture.adminPort, path: "/api/sessions", token: security)
            if let first = (list.json() as? [[String: Any]])?.first { sessionID = first["id"] as? String; break }
            try await Task.sleep(for: .milliseconds(100))
        }
        let id = try #require(sessionID)
        let kill = try await HTTPProbe.post(host: "127.0.0.1", port: fixture.adminPort, path: "/api/sessions/\(id)/kill", token: security)
        #expect(kill.status == 202)
        let result = try await running.value
        // Ended by the kill, not by the query finishing: the client was told why.
        #expect(result.status != 0)
        #expect(result.output.contains("killed by an administrator"), "\(result.output)")
        for _ in 0..<50 {
            let killed = try await HTTPProbe.get(host: "127.0.0.1", port: fixture.adminPort, path: "/api/sessions?status=killed", token: security)
            if (killed.json() as? [[String: Any]])?.first?["id"] as? String == id { break }
            try await Task.sleep(for: .milliseconds(100))
        }
        let killed = try await HTTPProbe.get(host: "127.0.0.1", port: fixture.adminPort, path: "/api/sessions?status=killed", token: security)
        #expect((killed.json() as? [[String: Any]])?.first?["id"] as? String == id)
        // The upstream query was cancelled too, not left running.
        // (Waited for, not timed: under load the cancel request reaches the server later.)
        #expect(await eventually(timeout: .seconds(25)) {
            (try? fixture.direct("SELECT count(*) FROM pg_stat_activity WHERE query = 'SELECT pg_sleep(300)' AND state = 'active'"))?
                .trimmingCharacters(in: .whitespacesAndNewlines) == "0"
        })
        #expect(await fixture.stop() == 0)
    }

    @Test func maxRowsEndsAnOversizedResultAndTheSessionGoesOn() async throws {
        let fixture = try await PostgresGatewayFixture.start(maxRows: 100)
        let result = try fixture.psql(["SELECT generate_series(1, 100000)", "SELECT 'still here'"])
        #expect(result.output.contains("exceeds limits.max_rows (100)"))
        #expect(result.output.contains("still here"))
        #expect(await fixture.stop() == 0)
    }

    /// Polls the admin API until a review is pending (up to 10 s).
    static func firstPendingReview(_ fixture: PostgresGatewayFixture, token: String) async throws -> [String: Any]? {
        for _ in 0..<100 {
            let list = try await HTTPProbe.get(host: "127.0.0.1", port: fixture.adminPort, path: "/api/reviews?status=pending", token: token)
            if let first = (list.json() as? [[String: Any]])?.first { return first }
            try await Task.sleep(for: .milliseconds(100))
        }
        return nil
    }

    @Test func idleSessionsEndWith57P05() async throws {
        let fixture = try await PostgresGatewayFixture.start()
        // psql's \\! runs a local command: the session sits idle meanwhile.
        let script = fixture.directory + "/idle.sql"
        try "SELECT 'before';\n\\! sleep 5\nSELECT 'after';\n".write(toFile: script, atomically: true, encoding: .utf8)
        let idle = try fixture.psql([], connection: "orders-idle", extra: ["-f", script])
        #expect(idle.output.contains("before"))
        #expect(idle.output.contains("idle-session timeout"))
        #expect(!idle.output.contains("after\n"))
        // A statement that runs longer than the timeout is not idleness.
        let busy = try fixture.psql(["SELECT pg_sleep(3)", "SELECT 'still here'"], connection: "orders-idle")
        #expect(busy.output.contains("still here"))
        #expect(await fixture.stop() == 0)
    }

    @Test func heldStatementRunsAfterApproval() async throws {
        let fixture = try await PostgresGatewayFixture.start()
        let token = try fixture.agentToken()
        let psqlTask = onOwnThread { try fixture.psql(["/* reason: fix ticket 7 */ UPDATE customers SET note = 'approved' WHERE id = 2"], token: token) }
        let dba = try fixture.idp.token(subject: "dba-1", groups: ["dba"])
        let pending = try #require(try await Self.firstPendingReview(fixture, token: dba))
        #expect(pending["justification"] as? String == "fix ticket 7")
        #expect((pending["command"] as? String)?.contains("UPDATE customers") == true)
        let id = try #require(pending["id"] as? String)
        #expect(try fixture.direct("SELECT note FROM customers WHERE id = 2").trimmingCharacters(in: .whitespacesAndNewlines).isEmpty)
        let approve = try await HTTPProbe.post(host: "127.0.0.1", port: fixture.adminPort, path: "/api/reviews/\(id)/approve", token: dba)
        #expect(approve.status == 200)
        let result = try await psqlTask.value
        #expect(result.output.contains("review \(id) is pending"))
        #expect(result.output.contains("UPDATE 1"))
        #expect(try fixture.direct("SELECT note FROM customers WHERE id = 2").contains("approved"))

        // A rejection answers with an error naming the review; the session stays usable.
        let second = onOwnThread { try fixture.psql(["UPDATE customers SET note = 'nope' WHERE id = 1", "SELECT 'after'"], token: token) }
        let rejectID = try #require(try await Self.firstPendingReview(fixture, token: dba)?["id"] as? String)
        _ = try await HTTPProbe.post(host: "127.0.0.1", port: fixture.adminPort, path: "/api/reviews/\(rejectID)/reject", token: dba, json: ["comment": "not today"])
        let rejected = try await second.value
        #expect(rejected.output.contains("review \(rejectID) was rejected: not today"))
        #expect(rejected.output.contains("after"))
        #expect(await fixture.stop() == 0)
    }

    @Test func windowGrantCoversLaterCommandsUntilItEnds() async throws {
        let fixture = try await PostgresGatewayFixture.start()
        let token = try fixture.agentToken()
        let dba = try fixture.idp.token(subject: "dba-1", groups: ["dba"])
        let first = onOwnThread { try fixture.psql(["VACUUM customers"], token: token) }
        let review = try #require(try await Self.firstPendingReview(fixture, token: dba)?["id"] as? String)
        _ = try await HTTPProbe.post(host: "127.0.0.1", port: fixture.adminPort, path: "/api/reviews/\(review)/approve", token: dba)
        #expect(try await first.value.output.contains("VACUUM"))
        // Within the window: runs at once, in a new session, without a review.
        let second = try fixture.psql(["VACUUM customers"], token: token)
        #expect(second.output.contains("VACUUM"))
        #expect(!second.output.contains("is pending"))
        // Someone else is not covered by the agent's window.
        let other = onOwnThread { try fixture.psql(["VACUUM customers"], token: try fixture.idp.token(subject: "agent-2", groups: ["agents"])) }
        let otherReview = try #require(try await Self.firstPendingReview(fixture, token: dba)?["id"] as? String)
        _ = try await HTTPProbe.post(host: "127.0.0.1", port: fixture.adminPort, path: "/api/reviews/\(otherReview)/reject", token: dba, json: ["comment": "no"])
        #expect(try await other.value.output.contains("rejected"))
        // After the window: held again.
        try await Task.sleep(for: .seconds(6.5))
        let third = onOwnThread { try fixture.psql(["VACUUM customers"], token: token) }
        let again = try #require(try await Self.firstPendingReview(fixture, token: dba)?["id"] as? String)
        #expect(again != review)
        _ = try await HTTPProbe.post(host: "127.0.0.1", port: fixture.adminPort, path: "/api/reviews/\(again)/reject", token: dba, json: ["comment": "window over"])
        #expect(try await third.value.output.contains("window over"))
        #expect(await fixture.stop() == 0)
    }

    @Test func webhooksReceiveSignedReviewEvents() async throws {
        let receiver = try await WebhookReceiver.start()
        let fixture = try await PostgresGatewayFixture.start(webhook: receiver.url)
        let token = try fixture.agentToken()
        let dba = try fixture.idp.token(subject: "dba-1", groups: ["dba"])
        let held = onOwnThread { try fixture.psql(["UPDATE customers SET note = 'x' WHERE id = 1"], token: token) }
        let review = try #require(try await Self.firstPendingReview(fixture, token: dba)?["id"] as? String)
        _ = try await HTTPProbe.post(host: "127.0.0.1", port: fixture.adminPort, path: "/api/reviews/\(review)/approve", token: dba)
        #expect(try await held.value.output.contains("UPDATE 1"))
        let deliveries = await receiver.waitFor(2)
        #expect(deliveries.map { $0.headers["x-gateway-event"] } == ["review.created", "review.approved"])
        for delivery in deliveries {
            let expected = "sha256=" + WebhookNotifier.signature(delivery.body, secret: "hook-secret")
            #expect(delivery.headers["x-gateway-signature"] == expected)
            let event = try JSONSerialization.jsonObject(with: delivery.body) as? [String: Any]
            #expect((event?["review"] as? [String: Any])?["id"] as? String == review)
        }
        #expect(await fixture.stop() == 0)
        await receiver.stop()
    }

    @Test(arguments: ["simple", "extended", "prepared"])
    func pgbenchThroughTheGateway(_ mode: String) async throws {
        let fixture = try await PostgresGatewayFixture.start()
        guard let pgbench = ProcessRunner.find("pgbench", extra: ["/usr/lib/postgresql/15/bin"]) else {
            #expect(ProcessInfo.processInfo.environment["GATEWAY_REQUIRE_PEERS"] == nil, "pgbench is required in CI")
            return
        }
        try ProcessRunner.run(pgbench, ["-i", "-s", "1", "-q", "-h", "127.0.0.1", "-p", "\(fixture.postgres.port)", "-U", "gateway", fixture.database], environment: ["PGPASSWORD": "gateway-pass"])
        _ = try fixture.direct("GRANT SELECT ON ALL TABLES IN SCHEMA public TO scram_user")
        let output = try ProcessRunner.run(pgbench, ["-n", "-S", "-M", mode, "-c", "2", "-t", "200", "host=127.0.0.1 port=\(fixture.port) dbname=orders user=agent"], environment: ["PGPASSWORD": try fixture.agentToken()])
        #expect(output.contains("number of transactions actually processed: 400/400"))
        #expect(output.contains("number of failed transactions: 0"))
        #expect(await fixture.stop() == 0)

        // Every transaction's result is recorded with the SQL it ran, in every protocol mode
        // (extended and prepared: the statement the executed portal was bound to).
        let recordings = fixture.directory + "/recordings"
        var results: [[String: Any]] = []
        for session in try FileManager.default.contentsOfDirectory(atPath: recordings) where session.hasPrefix("s-") {
            let lines = String(decoding: FileManager.default.contents(atPath: recordings + "/" + session + "/events.jsonl") ?? Data(), as: UTF8.self)
            for line in lines.split(separator: "\n") {
                guard let event = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any], event["type"] as? String == "result" else { continue }
                results.append(event)
            }
        }
        let selects = results.filter { ($0["command"] as? String)?.hasPrefix("SELECT abalance FROM pgbench_accounts WHERE aid = ") == true }
        #expect(selects.count == 400, "\(results.filter { ($0["command"] as? String)?.hasPrefix("SELECT abalance") != true }.prefix(3))")
        #expect(selects.allSatisfy { $0["rows"] as? Int == 1 && $0["columns"] as? [String] == ["abalance"] })
        if mode != "simple" {
            #expect(selects.allSatisfy { ($0["command"] as? String)?.contains("$1") == true })
        }
    }
}

@Suite("psycopg through postgres-gateway", .serialized)
struct PsycopgTests {
    @Test func driverScenarios() async throws {
        let python = try PythonEnvironment.python(importing: "psycopg", from: "psycopg[binary]")
        let fixture = try await PostgresGatewayFixture.start()
        let script = PythonEnvironment.script("driver_test.py")
        let conninfo = "host=127.0.0.1 port=\(fixture.port) dbname=orders user=agent password=\(try fixture.agentToken())"
        let result: String
        do {
            result = try ProcessRunner.run(python, [script, conninfo])
        } catch let failure as ProcessRunner.Failure {
            result = failure.output
        }
        #expect(result.contains("failures: 0"), "\(result)")
        #expect(await fixture.stop() == 0)
    }
}

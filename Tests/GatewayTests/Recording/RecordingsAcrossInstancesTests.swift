import Foundation
import GatewayTesting
import Testing

/// Issue 17: with PostgreSQL as the state store, a recording sealed by one instance is served,
/// played and verified by any other, which holds no copy of its folder. Instance A
/// (postgres-gateway and ssh-gateway, one recordings folder) records; instance B (another
/// postgres-gateway, its own empty folder) serves. A copy altered in the store fails
/// verification there; a copy missing from the store is uploaded again at A's next start.
@Suite("Recordings served by any instance (PostgreSQL store)", .serialized)
struct RecordingsAcrossInstancesTests {
    @Test func recordedOnOneInstancePlayedAndVerifiedThroughAnother() async throws {
        let postgres = try TemporaryPostgres.shared()
        let sshd = try TemporarySSHServer.start()
        defer { sshd.stop() }
        let idp = try await TestIdentityProvider.start()
        defer { Task { await idp.stop() } }
        let directory = NSTemporaryDirectory() + "gateway-rec-cross-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let target = try postgres.createDatabase()
        let targetName = Self.databaseName(target)
        try postgres.sql("CREATE TABLE items (id int PRIMARY KEY, note text); INSERT INTO items VALUES (1, 'cross-instance-row'); GRANT ALL ON items TO trusted_user;", database: targetName)
        let state = try postgres.createDatabase()
        let stateName = Self.databaseName(state)

        var ports: [String: Int] = [:]
        for name in ["pg-a", "pg-a-admin", "pg-b", "pg-b-admin", "ssh", "ssh-admin"] { ports[name] = ProcessRunner.freePort() }
        func config(postgres listen: String, admin: String, recordings: String) -> String {
            """
            identity: { issuer: \(idp.issuer), audience: \(idp.audience) }
            state: { url: "\(state)" }
            recordings: { dir: \(directory)/\(recordings) }
            admin_groups: [security]
            services:
              postgres: { listen: 127.0.0.1:\(ports[listen]!), admin: 127.0.0.1:\(ports[admin]!) }
              ssh: { listen: 127.0.0.1:\(ports["ssh"]!), admin: 127.0.0.1:\(ports["ssh-admin"]!), host_key_file: \(directory)/host_key }
            connections:
              - name: items
                type: postgres
                upstream: { host: 127.0.0.1, port: \(postgres.port), database: \(targetName), user: trusted_user, tls: disable }
                allow_groups: [agents]
              - name: web
                type: ssh
                upstream: { host: 127.0.0.1, port: \(sshd.port), user: \(sshd.user), private_key_file: \(sshd.clientKeyFile), host_key: "\(sshd.hostPublicKey)" }
                allow_groups: [agents]
            """
        }
        try config(postgres: "pg-a", admin: "pg-a-admin", recordings: "recordings-a").write(toFile: directory + "/a.yaml", atomically: true, encoding: .utf8)
        try config(postgres: "pg-b", admin: "pg-b-admin", recordings: "recordings-b").write(toFile: directory + "/b.yaml", atomically: true, encoding: .utf8)
        var a = try await GatewayProcess.start(binary: "postgres-gateway", configPath: directory + "/a.yaml", adminPort: ports["pg-a-admin"]!)
        let sshA = try await GatewayProcess.start(binary: "ssh-gateway", configPath: directory + "/a.yaml", adminPort: ports["ssh-admin"]!)
        let b = try await GatewayProcess.start(binary: "postgres-gateway", configPath: directory + "/b.yaml", adminPort: ports["pg-b-admin"]!)
        let agent = try idp.token(subject: "agent-1", email: "agent@example.com", groups: ["agents"])
        let security = try idp.token(subject: "sec-1", groups: ["security"])

        // Recorded on A: a query through postgres-gateway, a command through ssh-gateway.
        let psql = ProcessRunner.find("psql", extra: ["/usr/lib/postgresql/15/bin"]) ?? "/usr/bin/psql"
        let queried = try ProcessRunner.run(psql, [
            "-X", "-At", "-h", "127.0.0.1", "-p", "\(ports["pg-a"]!)", "-U", "agent-1", "-d", "items",
            "-c", "SELECT note AS cross_instance_label FROM items",
        ], environment: ["PGPASSWORD": agent, "PGSSLMODE": "disable"])
        #expect(queried.contains("cross-instance-row"))
        let ran = try ProcessRunner.run("/usr/bin/sshpass", ["-e", "/usr/bin/ssh"] + SSHGatewayFixture.clientOptions + [
            "-p", "\(ports["ssh"]!)", "web@127.0.0.1", "echo terminal-from-instance-a",
        ], environment: ["SSHPASS": agent])
        #expect(ran.contains("terminal-from-instance-a"))

        // B's folder stays empty: what it serves comes from the store.
        let bFolder = directory + "/recordings-b"
        func listedByB() async throws -> [[String: Any]] {
            try await HTTPProbe.get(host: "127.0.0.1", port: ports["pg-b-admin"]!, path: "/api/recordings", token: security).json() as? [[String: Any]] ?? []
        }
        var fromA: [[String: Any]] = []
        let bothListed = try await eventually {
            fromA = try await listedByB().filter { $0["location"] as? String == "store" }
            return fromA.count == 2
        }
        #expect(bothListed, "B lists A's two sealed recordings from the store")
        let pgSession = try #require(fromA.first { $0["service"] as? String == "postgres-gateway" }?["session_id"] as? String)
        let sshSession = try #require(fromA.first { $0["service"] as? String == "ssh-gateway" }?["session_id"] as? String)
        #expect(!FileManager.default.fileExists(atPath: bFolder + "/" + pgSession))
        let listed = try GatewayProcess.runToExit(binary: "gatewayctl", arguments: ["recordings", "list", "--admin", b.adminURL, "--token", security])
        #expect(listed.output.contains(pgSession) && listed.output.contains("store"), "\(listed.output)")
        #expect(FileManager.default.fileExists(atPath: directory + "/recordings-a/\(pgSession)/.stored"))

        // Verified and played through B.
        let verified = try GatewayProcess.runToExit(binary: "gatewayctl", arguments: ["recordings", "verify", pgSession, "--admin", b.adminURL, "--token", security])
        #expect(verified.status == 0, "\(verified.output)")
        #expect(verified.output.contains("ok: store copy"))
        let played = try GatewayProcess.runToExit(binary: "gatewayctl", arguments: ["recordings", "play", pgSession, "--no-wait", "--admin", b.adminURL, "--token", security])
        #expect(played.output.contains("cross_instance_label"), "\(played.output)")
        let replayed = try GatewayProcess.runToExit(binary: "gatewayctl", arguments: ["recordings", "play", sshSession, "--no-wait", "--admin", b.adminURL, "--token", security])
        #expect(replayed.output.contains("terminal-from-instance-a"), "the asciicast stream, replayed from the store: \(replayed.output)")
        let cast = try await HTTPProbe.get(host: "127.0.0.1", port: ports["pg-b-admin"]!, path: "/api/recordings/\(sshSession)/files/terminal.cast", token: security)
        #expect(cast.status == 200)
        #expect(cast.text.split(separator: "\n").first?.contains("\"version\":2") == true, "an asciicast v2 header: \(cast.text.prefix(200))")
        // The recording's owner may read it through B; another agent may not.
        let other = try idp.token(subject: "agent-2", groups: ["agents"])
        #expect(try await HTTPProbe.get(host: "127.0.0.1", port: ports["pg-b-admin"]!, path: "/api/recordings/\(pgSession)", token: agent).status == 200)
        #expect(try await HTTPProbe.get(host: "127.0.0.1", port: ports["pg-b-admin"]!, path: "/api/recordings/\(pgSession)", token: other).status == 404)

        // A copy altered in the store fails there, naming the file, through B and through A
        // (which checks its own folder and the store's copy).
        try postgres.sql("""
            UPDATE gateway_recording_chunks SET data = replace(convert_from(data, 'UTF8'), 'cross_instance_label', 'innocent_label____xx')::bytea
            WHERE session_id = '\(pgSession)' AND file = 'events.jsonl'
            """, database: stateName)
        let alteredB = try GatewayProcess.runToExit(binary: "gatewayctl", arguments: ["recordings", "verify", pgSession, "--admin", b.adminURL, "--token", security])
        #expect(alteredB.status == 1)
        #expect(alteredB.output.contains("events.jsonl"), "\(alteredB.output)")
        let alteredA = try await HTTPProbe.get(host: "127.0.0.1", port: ports["pg-a-admin"]!, path: "/api/recordings/\(pgSession)", token: security)
        let bodyA = alteredA.json() as? [String: Any]
        #expect(bodyA?["verified"] as? Bool == false)
        #expect((bodyA?["problem"] as? String)?.contains("store copy: events.jsonl") == true, "\(bodyA ?? [:])")
        let copies = bodyA?["copies"] as? [[String: Any]] ?? []
        #expect(copies.first { $0["location"] as? String == "local" }?["verified"] as? Bool == true)
        // A removed chunk is named too.
        try postgres.sql("DELETE FROM gateway_recording_chunks WHERE session_id = '\(sshSession)' AND file = 'terminal.cast'", database: stateName)
        let missing = try GatewayProcess.runToExit(binary: "gatewayctl", arguments: ["recordings", "verify", sshSession, "--admin", b.adminURL, "--token", security])
        #expect(missing.status == 1)
        #expect(missing.output.contains("terminal.cast"), "\(missing.output)")

        // A recording whose copy is not in the store (its upload failed) is uploaded at the
        // next start: the store's copy and A's mark are removed, A restarts, B serves it again.
        // (Both processes on A's folder stop first: either would upload it within a minute.)
        #expect(await a.stop() == 0)
        #expect(await sshA.stop() == 0)
        try postgres.sql("DELETE FROM gateway_recordings WHERE session_id = '\(pgSession)'; DELETE FROM gateway_recording_chunks WHERE session_id = '\(pgSession)'", database: stateName)
        unlink(directory + "/recordings-a/\(pgSession)/.stored")
        #expect(try await HTTPProbe.get(host: "127.0.0.1", port: ports["pg-b-admin"]!, path: "/api/recordings/\(pgSession)", token: security).status == 404)
        a = try await GatewayProcess.start(binary: "postgres-gateway", configPath: directory + "/a.yaml", adminPort: ports["pg-a-admin"]!)
        let reuploaded = try await eventually {
            let shown = try await HTTPProbe.get(host: "127.0.0.1", port: ports["pg-b-admin"]!, path: "/api/recordings/\(pgSession)", token: security)
            return shown.status == 200 && (shown.json() as? [String: Any])?["verified"] as? Bool == true
        }
        #expect(reuploaded, "the next start uploads the missing copy, intact")
        let metrics = try await HTTPProbe.get(host: "127.0.0.1", port: ports["pg-a-admin"]!, path: "/metrics")
        let uploads = String(decoding: metrics.body, as: UTF8.self).split(separator: "\n").filter { $0.hasPrefix("gateway_recording_uploads_total{") && $0.contains("outcome=\"stored\"") }
        #expect(uploads.count == 1, "the upload is counted")

        #expect(await a.stop() == 0)
        #expect(await b.stop() == 0)
    }

    static func databaseName(_ url: String) -> String {
        String(url.split(separator: "/").last?.split(separator: "?").first ?? "")
    }
}

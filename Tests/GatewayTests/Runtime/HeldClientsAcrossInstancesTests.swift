import Foundation
import GatewayTesting
import Testing

/// Issue 5's matrix: two postgres-gateway processes and an ssh-gateway on one state store. A
/// client held by one instance is released by an approval made through another's admin API,
/// on the PostgreSQL store (LISTEN/NOTIFY) and on SQLite (processes on one host).
@Suite("Held clients released across gateway instances", .serialized)
struct HeldClientsAcrossInstancesTests {
    enum Backend: String, CaseIterable, Sendable {
        case sqlite, postgres
    }

    @Test(arguments: Backend.allCases)
    func approvalThroughAnyInstanceReleasesTheHeldClient(_ backend: Backend) async throws {
        let postgres = try TemporaryPostgres.shared()
        let sshd = try TemporarySSHServer.start()
        defer { sshd.stop() }
        let idp = try await TestIdentityProvider.start()
        let directory = NSTemporaryDirectory() + "gateway-cross-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let database = try postgres.createDatabase()
        let databaseName = String(database.split(separator: "/").last?.split(separator: "?").first ?? "")
        try postgres.sql("CREATE TABLE items (id int PRIMARY KEY, note text); INSERT INTO items VALUES (1, 'before'); GRANT ALL ON items TO trusted_user;", database: databaseName)
        let state = backend == .postgres ? try postgres.createDatabase() : "sqlite://\(directory)/state.sqlite"

        var ports: [String: Int] = [:]
        for name in ["pg-a", "pg-a-admin", "pg-b", "pg-b-admin", "ssh", "ssh-admin"] { ports[name] = ProcessRunner.freePort() }
        func config(postgres listen: String, admin: String) -> String {
            """
            identity: { issuer: \(idp.issuer), audience: \(idp.audience) }
            state: { url: "\(state)" }
            recordings: { dir: \(directory)/recordings }
            services:
              postgres: { listen: 127.0.0.1:\(ports[listen]!), admin: 127.0.0.1:\(ports[admin]!) }
              ssh: { listen: 127.0.0.1:\(ports["ssh"]!), admin: 127.0.0.1:\(ports["ssh-admin"]!), host_key_file: \(directory)/host_key }
            connections:
              - name: items
                type: postgres
                upstream: { host: 127.0.0.1, port: \(postgres.port), database: \(databaseName), user: trusted_user, tls: disable }
                allow_groups: [agents]
                approvals: [{ name: writes, pattern: '(?i)^\\s*update\\b', reviewer_groups: [dba], timeout: 60s }]
              - name: web
                type: ssh
                upstream: { host: 127.0.0.1, port: \(sshd.port), user: \(sshd.user), private_key_file: \(sshd.clientKeyFile), host_key: "\(sshd.hostPublicKey)" }
                allow_groups: [agents]
                approvals: [{ name: restarts, pattern: '^\\s*systemctl\\s+restart\\b', reviewer_groups: [dba], timeout: 60s }]
            """
        }
        try config(postgres: "pg-a", admin: "pg-a-admin").write(toFile: directory + "/a.yaml", atomically: true, encoding: .utf8)
        try config(postgres: "pg-b", admin: "pg-b-admin").write(toFile: directory + "/b.yaml", atomically: true, encoding: .utf8)
        let a = try await GatewayProcess.start(binary: "postgres-gateway", configPath: directory + "/a.yaml", adminPort: ports["pg-a-admin"]!)
        let b = try await GatewayProcess.start(binary: "postgres-gateway", configPath: directory + "/b.yaml", adminPort: ports["pg-b-admin"]!)
        let ssh = try await GatewayProcess.start(binary: "ssh-gateway", configPath: directory + "/a.yaml", adminPort: ports["ssh-admin"]!)
        let agent = try idp.token(subject: "agent-1", groups: ["agents"])
        let dba = try idp.token(subject: "dba-1", groups: ["dba"])

        func pending(at admin: String, service: String) async throws -> String? {
            for _ in 0..<100 {
                let list = try await HTTPProbe.get(host: "127.0.0.1", port: ports[admin]!, path: "/api/reviews?status=pending", token: dba)
                if let review = (list.json() as? [[String: Any]])?.first(where: { $0["service"] as? String == service }) { return review["id"] as? String }
                try await Task.sleep(for: .milliseconds(100))
            }
            return nil
        }

        // An ssh client held by ssh-gateway, seen through postgres-gateway B, approved through A.
        let sshPort = ports["ssh"]!
        let heldSSH = onOwnThread {
            try? ProcessRunner.run("/usr/bin/sshpass", ["-e", "/usr/bin/ssh"] + SSHGatewayFixture.clientOptions + ["-p", "\(sshPort)", "web@127.0.0.1", "systemctl restart demo 2>/dev/null; echo released"], environment: ["SSHPASS": agent])
        }
        let sshReview = try #require(try await pending(at: "pg-b-admin", service: "ssh-gateway"))
        #expect(try await HTTPProbe.post(host: "127.0.0.1", port: ports["pg-a-admin"]!, path: "/api/reviews/\(sshReview)/approve", token: dba).status == 200)
        // Released by the approval (an expired review would have refused the command: no "released").
        #expect(try await heldSSH.value?.contains("released") == true)

        // A psql client held by postgres-gateway A, seen through ssh-gateway, approved through B.
        let psql = ProcessRunner.find("psql", extra: ["/usr/lib/postgresql/15/bin"]) ?? "/usr/bin/psql"
        let pgPort = ports["pg-a"]!
        let heldQuery = onOwnThread {
            try? ProcessRunner.run(psql, ["-X", "-At", "-c", "UPDATE items SET note = 'after' WHERE id = 1", "host=127.0.0.1 port=\(pgPort) dbname=items user=agent"], environment: ["PGPASSWORD": agent])
        }
        let queryReview = try #require(try await pending(at: "ssh-admin", service: "postgres-gateway"))
        #expect(try await HTTPProbe.post(host: "127.0.0.1", port: ports["pg-b-admin"]!, path: "/api/reviews/\(queryReview)/approve", token: dba).status == 200)
        #expect(try await heldQuery.value?.contains("UPDATE 1") == true)
        #expect(try postgres.sql("SELECT note FROM items WHERE id = 1", database: databaseName).contains("after"))

        #expect(await a.stop() == 0)
        #expect(await b.stop() == 0)
        #expect(await ssh.stop() == 0)
        await idp.stop()
    }
}

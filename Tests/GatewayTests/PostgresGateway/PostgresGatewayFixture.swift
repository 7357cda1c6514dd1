import Foundation
import GatewayRecording
import GatewayTesting
import Testing

/// A real PostgreSQL, a test identity provider and a running postgres-gateway in front,
/// with one connection per upstream authentication method.
struct PostgresGatewayFixture {
    let idp: TestIdentityProvider
    let postgres: TemporaryPostgres
    let gateway: GatewayProcess
    let directory: String
    let port: Int
    let adminPort: Int
    let database: String

    /// `service`: more keys of the postgres service (`handshake_timeout: 2s, ...`).
    /// `stalledPort`: adds connection `orders-stalled` whose upstream is at that port (a target
    /// that accepts and never answers, started by the test).
    /// `state`: a state store URL instead of the fixture's own SQLite file; `recordings`: a
    /// recordings folder instead of one in the fixture's folder (a small tmpfs, say).
    static func start(
        maxRows: Int = 1000, tls: Bool = false, webhook: String? = nil, service: String? = nil, stalledPort: Int? = nil,
        state: String? = nil, recordings: String? = nil
    ) async throws -> PostgresGatewayFixture {
        let postgres = try TemporaryPostgres.shared()
        let database = "gw_\(UUID().uuidString.prefix(8).lowercased())"
        try postgres.sql("CREATE DATABASE \(database)")
        try postgres.sql("""
            CREATE TABLE customers (id int PRIMARY KEY, name text, email text, note text);
            INSERT INTO customers VALUES (1, 'Jane Roe', 'jane@example.com', 'card 4111 1111 1111 1111'), (2, 'Bob', 'bob@example.org', NULL);
            GRANT ALL ON customers TO scram_user, md5_user, trusted_user;
            """, database: database)
        let idp = try await TestIdentityProvider.start()
        let directory = NSTemporaryDirectory() + "gateway-pg-e2e-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let port = ProcessRunner.freePort()
        let adminPort = ProcessRunner.freePort()
        let closedPort = ProcessRunner.freePort()
        func connection(_ name: String, user: String, passwordEnv: String?, upstreamPort: Int = postgres.port, tls: String = "disable", ca: String? = nil, idle: String? = nil, record: String = "true") -> String {
            """
              - name: \(name)
                type: postgres
                upstream: { host: 127.0.0.1, port: \(upstreamPort), database: \(database), user: \(user)\(passwordEnv.map { ", password_env: \($0)" } ?? ""), tls: \(tls)\(ca.map { ", ca_file: \($0)" } ?? "") }
                allow_groups: [agents]
                guardrails:
                  - { name: no-drop, pattern: '(?i)\\bdrop\\s+(table|schema|database)\\b', message: "DROP is not allowed here" }
                  - { name: no-unbounded-delete, statement: delete_without_where }
                  - { name: no-set-role, pattern: '(?i)\\bset\\s+(session\\s+authorization|role)\\b', message: "changing role is not allowed here" }
                approvals:
                  - { name: writes, pattern: '(?i)^\\s*(update|insert)\\b', reviewer_groups: [dba], timeout: 20s }
                  - { name: maintenance, pattern: '(?i)^\\s*vacuum\\b', reviewer_groups: [dba], timeout: 20s, grant: window, duration: 6s }
                masking:
                  columns: [name]
                  entities: [EMAIL, CREDIT_CARD]
                limits: { max_rows: \(maxRows)\(idle.map { ", idle_timeout: \($0)" } ?? "") }
                record: \(record)

            """
        }
        var tlsSection = ""
        if tls {
            try ProcessRunner.run(ProcessRunner.find("openssl") ?? "/usr/bin/openssl", [
                "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", directory + "/tls.key", "-out", directory + "/tls.crt",
                "-days", "1", "-subj", "/CN=localhost",
            ])
            tlsSection = "tls: { cert_file: \(directory)/tls.crt, key_file: \(directory)/tls.key }"
        }
        try ProcessRunner.run(ProcessRunner.find("openssl") ?? "/usr/bin/openssl", [
            "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=other", "-keyout", directory + "/other-ca.key", "-out", directory + "/other-ca.crt",
        ])
        let yaml = """
            \(tlsSection)
            identity: { issuer: \(idp.issuer), audience: \(idp.audience) }
            state: { url: "\(state ?? "sqlite://\(directory)/state.sqlite")" }
            recordings: { dir: \(recordings ?? directory + "/recordings") }
            \(webhook.map { "webhooks: [{ url: \"\($0)\", secret_env: HOOK_SECRET }]" } ?? "")
            admin_groups: [security]
            services:
              postgres: { listen: 127.0.0.1:\(port), admin: 127.0.0.1:\(adminPort)\(service.map { ", " + $0 } ?? "") }
            connections:
            \(connection("orders", user: "scram_user", passwordEnv: "SCRAM_PW"))\(connection("orders-md5", user: "md5_user", passwordEnv: "MD5_PW"))\(connection("orders-trust", user: "trusted_user", passwordEnv: nil))\(connection("orders-down", user: "scram_user", passwordEnv: "SCRAM_PW", upstreamPort: closedPort))\(connection("orders-tls-prefer", user: "scram_user", passwordEnv: "SCRAM_PW", tls: "prefer"))\(connection("orders-tls-require", user: "scram_user", passwordEnv: "SCRAM_PW", tls: "require"))\(connection("orders-tls-verify", user: "scram_user", passwordEnv: "SCRAM_PW", tls: "verify-full", ca: postgres.certificateFile ?? "/nonexistent"))\(connection("orders-tls-wrong-ca", user: "scram_user", passwordEnv: "SCRAM_PW", tls: "verify-full", ca: "\(directory)/other-ca.crt"))\(connection("orders-idle", user: "scram_user", passwordEnv: "SCRAM_PW", idle: "2s"))\(connection("orders-best-effort", user: "scram_user", passwordEnv: "SCRAM_PW", record: "best_effort"))\(stalledPort.map { connection("orders-stalled", user: "scram_user", passwordEnv: "SCRAM_PW", upstreamPort: $0) } ?? "")
            """
        try yaml.write(toFile: directory + "/gateway.yaml", atomically: true, encoding: .utf8)
        let gateway = try await GatewayProcess.start(
            binary: "postgres-gateway", configPath: directory + "/gateway.yaml", adminPort: adminPort,
            environment: ["SCRAM_PW": "scram-pass", "MD5_PW": "md5-pass", "HOOK_SECRET": "hook-secret"]
        )
        gateway.sweepToken = try idp.token(subject: "secret-sweep", groups: ["security"])
        return PostgresGatewayFixture(idp: idp, postgres: postgres, gateway: gateway, directory: directory, port: port, adminPort: adminPort, database: database)
    }

    func stop() async -> Int32 {
        let status = await gateway.stop()
        await idp.stop()
        return status
    }

    var psql: String { ProcessRunner.find("psql", extra: ["/usr/lib/postgresql/15/bin"]) ?? "/usr/bin/psql" }

    /// The ErrorResponse a start-up on `connection` is refused with (nil when it is admitted),
    /// read off the wire: psql does not print a connection failure's SQLSTATE.
    func startupRefusal(connection: String = "orders", token: String? = nil) throws -> PostgresWireClient.Message? {
        let client = try PostgresWireClient(port: port)
        let messages = try client.authenticate(database: connection, token: try token ?? agentToken())
        return messages.first { $0.type == UInt8(ascii: "E") }
    }

    /// `/readyz`'s checks by name.
    func readinessChecks() async throws -> [String: String] {
        let response = try await HTTPProbe.get(host: "127.0.0.1", port: adminPort, path: "/readyz")
        return ((response.json() as? [String: Any])?["checks"] as? [String: String]) ?? [:]
    }

    func agentToken() throws -> String { try idp.token(subject: "agent-1", email: "agent@example.com", groups: ["agents"]) }

    /// Runs psql through the gateway; returns exit status and combined output.
    func psql(_ commands: [String], connection: String = "orders", token: String? = nil, sslmode: String = "prefer", extra: [String] = []) throws -> (status: Int32, output: String) {
        var arguments = ["-X", "-At", "-v", "ON_ERROR_STOP=0", "host=127.0.0.1 port=\(port) dbname=\(connection) user=agent sslmode=\(sslmode)"] + extra
        for command in commands { arguments += ["-c", command] }
        do {
            return (0, try ProcessRunner.run(psql, arguments, environment: ["PGPASSWORD": try token ?? agentToken(), "PGCONNECT_TIMEOUT": "10"]))
        } catch let failure as ProcessRunner.Failure {
            return (failure.status, failure.output)
        }
    }

    /// The folder and `events.jsonl` of the one session this fixture recorded, after checking
    /// that it verifies (sealed, untouched).
    func onlyRecording() throws -> (folder: String, events: String) {
        let sessions = RecordingFolders.sessions(in: directory + "/recordings")
        try #require(sessions.count == 1, "\(sessions)")
        let folder = sessions[0]
        _ = try RecordingVerifier.verify(folder: folder)
        return (folder, String(decoding: FileManager.default.contents(atPath: folder + "/events.jsonl") ?? Data(), as: UTF8.self))
    }

    /// The statements' audit events of connection `orders` as `"<action> <command>"`, in order,
    /// read through the admin API once at least `count` are there (events are written in batches).
    func auditCommands(atLeast count: Int) async throws -> [String] {
        try await auditCommands { $0.count >= count }
    }

    /// The same, read until `done` says they are all there (or five seconds have passed).
    func auditCommands(until done: ([String]) -> Bool) async throws -> [String] {
        let security = try idp.token(subject: "sec-1", groups: ["security"])
        var commands: [String] = []
        for _ in 0..<50 {
            let response = try await HTTPProbe.get(host: "127.0.0.1", port: adminPort, path: "/api/audit?connection=orders", token: security)
            commands = ((response.json() as? [[String: Any]]) ?? []).compactMap { event in
                (event["command"] as? String).map { "\(event["action"] as? String ?? "?") \($0)" }
            }
            if done(commands) { break }
            try await Task.sleep(for: .milliseconds(100))
        }
        return commands
    }

    /// Runs psql directly against PostgreSQL as the superuser.
    func direct(_ sql: String) throws -> String {
        try postgres.sql(sql, database: database)
    }
}

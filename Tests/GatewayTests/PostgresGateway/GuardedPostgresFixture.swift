import Foundation
import GatewayTesting
import Testing

/// A real PostgreSQL behind a postgres-gateway whose connection `guarded` has guardrails and
/// approval rules by statement kind (reviews time out after a second: a held attempt is
/// refused), and whose connection `open` has no rules: the control that shows an attempt
/// does change the database when nothing stops it. The upstream role owns the tables, so
/// `DROP OWNED BY CURRENT_USER` would drop them.
struct GuardedPostgresFixture {
    let idp: TestIdentityProvider
    let postgres: TemporaryPostgres
    let gateway: GatewayProcess
    let directory: String
    let port: Int
    let database: String

    static func start(opaque: String = "review") async throws -> GuardedPostgresFixture {
        let postgres = try TemporaryPostgres.shared()
        let database = "gd_\(UUID().uuidString.prefix(8).lowercased())"
        try postgres.sql("CREATE DATABASE \(database)")
        try postgres.sql("""
            GRANT CREATE ON SCHEMA public TO trusted_user;
            CREATE TABLE victims (id int PRIMARY KEY, name text, email text);
            INSERT INTO victims VALUES (1, 'Jane Roe', 'jane@example.com'), (2, 'Bob', 'bob@example.org'), (3, 'Eve', 'eve@example.net');
            CREATE TABLE control (id int);
            INSERT INTO control VALUES (1);
            ALTER TABLE victims OWNER TO trusted_user;
            ALTER TABLE control OWNER TO trusted_user;
            """, database: database)
        let idp = try await TestIdentityProvider.start()
        let directory = NSTemporaryDirectory() + "gateway-guarded-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let port = ProcessRunner.freePort()
        let adminPort = ProcessRunner.freePort()
        let yaml = """
            identity: { issuer: \(idp.issuer), audience: \(idp.audience) }
            state: { url: "sqlite://\(directory)/state.sqlite" }
            recordings: { dir: \(directory)/recordings }
            admin_groups: [security]
            services:
              postgres: { listen: 127.0.0.1:\(port), admin: 127.0.0.1:\(adminPort) }
            connections:
              - name: guarded
                type: postgres
                upstream: { host: 127.0.0.1, port: \(postgres.port), database: \(database), user: trusted_user, tls: disable }
                allow_groups: [agents]
                opaque: \(opaque)
                guardrails:
                  - { name: no-drop, pattern: '(?i)\\bdrop\\s+(table|schema|database)\\b', message: "DROP is not allowed here" }
                  - { name: no-drop-anything, statement: drop }
                  - { name: no-unbounded-delete, statement: delete_without_where }
                  - { name: no-unbounded-update, statement: update_without_where }
                  - { name: no-terminate, statement: terminate_backend }
                approvals:
                  - { name: writes, statement: write, reviewer_groups: [dba], timeout: 1s }
                  - { name: schema-changes, statement: ddl, reviewer_groups: [dba], timeout: 1s }
                masking:
                  columns: [name]
                  entities: [EMAIL]
              - name: open
                type: postgres
                upstream: { host: 127.0.0.1, port: \(postgres.port), database: \(database), user: trusted_user, tls: disable }
                allow_groups: [agents]
            """
        try yaml.write(toFile: directory + "/gateway.yaml", atomically: true, encoding: .utf8)
        let gateway = try await GatewayProcess.start(binary: "postgres-gateway", configPath: directory + "/gateway.yaml", adminPort: adminPort)
        gateway.sweepToken = try idp.token(subject: "secret-sweep", groups: ["security"])
        return GuardedPostgresFixture(idp: idp, postgres: postgres, gateway: gateway, directory: directory, port: port, database: database)
    }

    func stop() async {
        _ = await gateway.stop()
        await idp.stop()
    }

    var psqlPath: String { ProcessRunner.find("psql", extra: ["/usr/lib/postgresql/15/bin"]) ?? "/usr/bin/psql" }

    /// Runs psql through the gateway, each command its own query on one connection; the
    /// exit status and everything it printed.
    func psql(_ commands: [String], connection: String = "guarded", environment: [String: String] = [:]) throws -> (status: Int32, output: String) {
        var arguments = ["-X", "-At", "-v", "ON_ERROR_STOP=0", "host=127.0.0.1 port=\(port) dbname=\(connection) user=agent sslmode=disable"]
        for command in commands { arguments += ["-c", command] }
        var env = ["PGPASSWORD": try idp.token(subject: "agent-1", email: "agent@example.com", groups: ["agents"]), "PGCONNECT_TIMEOUT": "10"]
        env.merge(environment) { $1 }
        do {
            return (0, try ProcessRunner.run(psqlPath, arguments, environment: env))
        } catch let failure as ProcessRunner.Failure {
            return (failure.status, failure.output)
        }
    }

    /// SQL as the superuser, directly.
    @discardableResult
    func direct(_ sql: String) throws -> String { try postgres.sql(sql, database: database) }

    /// The database as the fixture made it: both tables with their rows and columns, no
    /// function, trigger, rule or event trigger of the agent's, no setting for its role.
    func unchanged() throws -> Bool {
        let state = try direct("""
            SELECT (SELECT count(*) FROM victims WHERE name IS NOT NULL AND email LIKE '%@%')
                || '/' || (SELECT count(*) FROM control)
                || '/' || (SELECT count(*) FROM pg_proc WHERE pronamespace = 'public'::regnamespace)
                || '/' || (SELECT count(*) FROM pg_trigger WHERE NOT tgisinternal)
                || '/' || (SELECT count(*) FROM pg_rewrite r JOIN pg_class c ON c.oid = r.ev_class WHERE c.relnamespace = 'public'::regnamespace)
                || '/' || (SELECT count(*) FROM pg_event_trigger)
                || '/' || (SELECT count(*) FROM pg_db_role_setting WHERE setdatabase = (SELECT oid FROM pg_database WHERE datname = current_database()))
                || '/' || (SELECT count(*) FROM pg_class WHERE relnamespace = 'public'::regnamespace AND relkind = 'r')
            """)
        return state.trimmingCharacters(in: .whitespacesAndNewlines) == "3/1/0/0/0/0/0/2"
    }
}

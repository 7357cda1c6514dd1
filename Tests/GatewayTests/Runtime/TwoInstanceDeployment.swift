import Crypto
import Foundation
import GatewayRecording
import GatewayTesting

/// docs/deploy.md in miniature: two postgres-gateway instances, A and B, and an ssh-gateway
/// beside A, on one state store, in front of a real PostgreSQL target (table `items`, one row)
/// and a real OpenSSH server. Connections `items` (postgres) and `web` (ssh) admit group
/// `agents`; an UPDATE on `items` and `systemctl restart` on `web` are held for group `dba`;
/// group `security` is the admin group. The configurations are written, not started:
/// `startPostgres(_:)` and `startSSH()` start the processes.
struct TwoInstanceDeployment {
    enum Store: String, CaseIterable, Sendable {
        case sqlite, postgres
    }

    enum Instance: String, Sendable {
        case a, b
    }

    struct Ports: Sendable {
        let postgresA = ProcessRunner.freePort()
        let adminA = ProcessRunner.freePort()
        let postgresB = ProcessRunner.freePort()
        let adminB = ProcessRunner.freePort()
        let ssh = ProcessRunner.freePort()
        let sshAdmin = ProcessRunner.freePort()

        func postgres(_ instance: Instance) -> Int { instance == .a ? postgresA : postgresB }
        func admin(_ instance: Instance) -> Int { instance == .a ? adminA : adminB }
    }

    let postgres: TemporaryPostgres
    let sshd: TemporarySSHServer
    let idp: TestIdentityProvider
    let directory: String
    /// The target database's name (table `items`, granted to the upstream user).
    let targetDatabase: String
    /// The state store's database name, when the store is PostgreSQL.
    let stateDatabase: String?
    let separateRecordings: Bool
    /// Every instance's `recordings.signing_key_file` (one key for the deployment), when signed.
    let signer: RecordingSigner?
    let ports = Ports()

    /// `row`: the `note` of `items` row 1. `separateRecordings`: A (with the ssh-gateway) and
    /// B each get their own recordings folder (`recordings-a`, `recordings-b`) instead of one
    /// they share. `signed`: seals are signed with one key every instance has (and trusts).
    static func make(store: Store, row: String, separateRecordings: Bool, signed: Bool = false) async throws -> TwoInstanceDeployment {
        let postgres = try TemporaryPostgres.shared()
        let sshd = try TemporarySSHServer.start()
        let idp = try await TestIdentityProvider.start()
        let directory = NSTemporaryDirectory() + "gateway-two-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let target = databaseName(try postgres.createDatabase())
        try postgres.sql("CREATE TABLE items (id int PRIMARY KEY, note text); INSERT INTO items VALUES (1, '\(row)'); GRANT ALL ON items TO trusted_user;", database: target)
        let stateURL = store == .postgres ? try postgres.createDatabase() : "sqlite://\(directory)/state.sqlite"
        let deployment = TwoInstanceDeployment(
            postgres: postgres, sshd: sshd, idp: idp, directory: directory, targetDatabase: target,
            stateDatabase: store == .postgres ? databaseName(stateURL) : nil, separateRecordings: separateRecordings,
            signer: signed ? RecordingSigner(key: Curve25519.Signing.PrivateKey()) : nil
        )
        try deployment.signer?.pemRepresentation.write(toFile: deployment.signingKeyFile, atomically: true, encoding: .utf8)
        for instance in [Instance.a, .b] {
            try deployment.configuration(instance, state: stateURL)
                .write(toFile: deployment.configPath(instance), atomically: true, encoding: .utf8)
        }
        return deployment
    }

    func configPath(_ instance: Instance) -> String { directory + "/\(instance.rawValue).yaml" }

    var signingKeyFile: String { directory + "/recordings.key" }

    /// The recordings folder of `instance` (A's is also the ssh-gateway's).
    func recordings(_ instance: Instance) -> String {
        directory + (separateRecordings ? "/recordings-\(instance.rawValue)" : "/recordings")
    }

    /// postgres-gateway `instance`.
    func startPostgres(_ instance: Instance) async throws -> GatewayProcess {
        try await GatewayProcess.start(binary: "postgres-gateway", configPath: configPath(instance), adminPort: ports.admin(instance))
    }

    /// The ssh-gateway beside A (A's configuration, A's recordings folder).
    func startSSH() async throws -> GatewayProcess {
        try await GatewayProcess.start(binary: "ssh-gateway", configPath: configPath(.a), adminPort: ports.sshAdmin)
    }

    /// `psql -X -At -c sql` through postgres-gateway `instance` as the holder of `token`, on a
    /// thread of its own (it may be held for review); its output, or nil when it failed.
    func psql(_ sql: String, through instance: Instance, token: String) -> Task<String?, any Error> {
        let port = ports.postgres(instance)
        return onOwnThread {
            try? ProcessRunner.run(Self.psqlPath, [
                "-X", "-At", "-c", sql, "host=127.0.0.1 port=\(port) dbname=items user=agent sslmode=disable",
            ], environment: ["PGPASSWORD": token])
        }
    }

    /// `ssh web@gateway command` through the ssh-gateway, on a thread of its own; its output,
    /// or nil when it failed.
    func ssh(_ command: String, token: String) -> Task<String?, any Error> {
        let port = ports.ssh
        return onOwnThread {
            try? ProcessRunner.run("/usr/bin/sshpass", ["-e", "/usr/bin/ssh"] + SSHGatewayFixture.clientOptions + [
                "-p", "\(port)", "web@127.0.0.1", command,
            ], environment: ["SSHPASS": token])
        }
    }

    func stop() async {
        sshd.stop()
        await idp.stop()
    }

    static let psqlPath = ProcessRunner.find("psql", extra: ["/usr/lib/postgresql/15/bin"]) ?? "/usr/bin/psql"

    static func databaseName(_ url: String) -> String {
        String(url.split(separator: "/").last?.split(separator: "?").first ?? "")
    }

    private func configuration(_ instance: Instance, state: String) -> String {
        """
        identity: { issuer: \(idp.issuer), audience: \(idp.audience) }
        state: { url: "\(state)" }
        recordings: { dir: \(recordings(instance))\(signer == nil ? "" : ", signing_key_file: \(signingKeyFile)") }
        admin_groups: [security]
        services:
          postgres: { listen: 127.0.0.1:\(ports.postgres(instance)), admin: 127.0.0.1:\(ports.admin(instance)) }
          ssh: { listen: 127.0.0.1:\(ports.ssh), admin: 127.0.0.1:\(ports.sshAdmin), host_key_file: \(directory)/host_key }
        connections:
          - name: items
            type: postgres
            upstream: { host: 127.0.0.1, port: \(postgres.port), database: \(targetDatabase), user: trusted_user, tls: disable }
            allow_groups: [agents]
            approvals: [{ name: writes, pattern: '(?i)^\\s*update\\b', reviewer_groups: [dba], timeout: 60s }]
          - name: web
            type: ssh
            upstream: { host: 127.0.0.1, port: \(sshd.port), user: \(sshd.user), private_key_file: \(sshd.clientKeyFile), host_key: "\(sshd.hostPublicKey)" }
            allow_groups: [agents]
            approvals: [{ name: restarts, pattern: '^\\s*systemctl\\s+restart\\b', reviewer_groups: [dba], timeout: 60s }]
        """
    }
}

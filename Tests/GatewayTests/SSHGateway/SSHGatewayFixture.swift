import Foundation
import GatewayTesting

/// A real OpenSSH server, a test identity provider and a running ssh-gateway in front, with
/// connections that differ in what they allow: `web` (guardrails, approvals, masking, sftp),
/// `locked` (no sftp), `forward` (port forwarding, no masking), `wrong-key` (a pinned host key
/// that is not the server's) and `down` (nothing listening).
struct SSHGatewayFixture {
    let idp: TestIdentityProvider
    let sshd: TemporarySSHServer
    let gateway: GatewayProcess
    let directory: String
    let port: Int
    let adminPort: Int
    /// A listener that accepts TCP connections and closes them at once (like sshd past MaxStartups).
    let dropper: pid_t

    /// `service`: more keys of the ssh service (`handshake_timeout: 2s, ...`).
    /// `state`: a state store URL instead of the fixture's own SQLite file; `recordings`: a
    /// recordings folder instead of one in the fixture's folder.
    /// `stalledPort`: adds connection `stalled` whose target is that port (a listener that never answers).
    static func start(
        environmentFile: String? = nil, service: String? = nil, state: String? = nil, recordings: String? = nil, stalledPort: Int? = nil
    ) async throws -> SSHGatewayFixture {
        let sshd = try TemporarySSHServer.start()
        let idp = try await TestIdentityProvider.start()
        let directory = NSTemporaryDirectory() + "gateway-ssh-e2e-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        try ProcessRunner.run("/usr/bin/ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", directory + "/impostor"])
        let impostor = try String(contentsOfFile: directory + "/impostor.pub", encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        let port = ProcessRunner.freePort()
        let adminPort = ProcessRunner.freePort()
        let closedPort = ProcessRunner.freePort()
        let dropPort = ProcessRunner.freePort()
        let dropper = try ProcessRunner.spawn([
            "/usr/bin/python3", "-c",
            "import socket\ns = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); s.bind(('127.0.0.1', \(dropPort))); s.listen(16)\nwhile True:\n    c, _ = s.accept(); c.close()",
        ], output: directory + "/dropper.log")
        func upstream(port: Int = sshd.port, hostKey: String = sshd.hostPublicKey) -> String {
            "{ host: 127.0.0.1, port: \(port), user: \(sshd.user), private_key_file: \(sshd.clientKeyFile), host_key: \"\(hostKey)\" }"
        }
        let yaml = """
            identity: { issuer: \(idp.issuer), audience: \(idp.audience) }
            state: { url: "\(state ?? "sqlite://\(directory)/state.sqlite")" }
            recordings: { dir: \(recordings ?? directory + "/recordings") }
            admin_groups: [security]
            services:
              ssh: { listen: 127.0.0.1:\(port), admin: 127.0.0.1:\(adminPort), host_key_file: \(directory)/gateway_host_key\(service.map { ", " + $0 } ?? "") }
            connections:
              - name: web
                type: ssh
                upstream: \(upstream())
                allow_groups: [agents]
                allow_sftp: true
                guardrails:
                  - { name: no-rm-rf, pattern: 'rm\\s+-[a-z]*r[a-z]*f', message: "recursive force delete is blocked" }
                approvals:
                  - { name: restarts, pattern: '^\\s*systemctl\\s+restart\\b', reviewer_groups: [dba], timeout: 2m }
                masking: { entities: [EMAIL] }
              - name: web-best-effort
                type: ssh
                upstream: \(upstream())
                allow_groups: [agents]
                record: best_effort
              - name: locked
                type: ssh
                upstream: \(upstream())
                allow_groups: [agents]
              - name: forward
                type: ssh
                upstream: \(upstream())
                allow_groups: [agents]
                allow_port_forwarding: true
                record: false
              - name: wrong-key
                type: ssh
                upstream: \(upstream(hostKey: impostor))
                allow_groups: [agents]
              - name: down
                type: ssh
                upstream: \(upstream(port: closedPort))
                allow_groups: [agents]
              - name: drops
                type: ssh
                upstream: \(upstream(port: dropPort))
                allow_groups: [agents]
              - name: idle
                type: ssh
                upstream: \(upstream())
                allow_groups: [agents]
                limits: { idle_timeout: 2s }
              - name: guarded
                type: ssh
                upstream: \(upstream())
                allow_groups: [agents]
                opaque: block
                guardrails:
                  - { name: no-rm-rf, command: rm, flags: [recursive, force], message: "recursive force delete is blocked" }
                  - { name: no-find-delete, command: find, flags: [delete] }
                  - { name: no-rm-rf-pattern, pattern: 'rm\\s+-[a-z]*r[a-z]*f' }
                masking: { entities: [EMAIL] }
              - name: ops-only
                type: ssh
                upstream: \(upstream())
                allow_groups: [ops]
            \(stalledPort.map { "  - { name: stalled, type: ssh, upstream: \(upstream(port: $0)), allow_groups: [agents] }" } ?? "")
            """
        try yaml.write(toFile: directory + "/gateway.yaml", atomically: true, encoding: .utf8)
        let gateway = try await GatewayProcess.start(binary: "ssh-gateway", configPath: directory + "/gateway.yaml", adminPort: adminPort)
        gateway.sweepToken = try idp.token(subject: "secret-sweep", groups: ["security"])
        return SSHGatewayFixture(idp: idp, sshd: sshd, gateway: gateway, directory: directory, port: port, adminPort: adminPort, dropper: dropper)
    }

    func stop() async -> Int32 {
        let status = await gateway.stop()
        await idp.stop()
        sshd.stop()
        ProcessRunner.stop(dropper)
        return status
    }

    func agentToken() throws -> String { try idp.token(subject: "agent-1", email: "agent@example.com", groups: ["agents"]) }

    static let clientOptions = [
        "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null", "-o", "LogLevel=ERROR",
        "-o", "PreferredAuthentications=password", "-o", "PubkeyAuthentication=no", "-o", "NumberOfPasswordPrompts=1",
        "-o", "ConnectTimeout=10",
    ]

    /// Runs OpenSSH's `ssh` through the gateway with the token as the password (via sshpass);
    /// returns the exit status and stdout and stderr together.
    func ssh(
        _ connection: String, _ command: String? = nil, token: String? = nil, stdin: String = "/dev/null", options: [String] = [],
        environment: [String: String] = [:]
    ) throws -> (status: Int32, output: String) {
        var arguments = ["-e", "/usr/bin/ssh"] + Self.clientOptions + options + ["-p", "\(port)", "\(connection)@127.0.0.1"]
        if let command { arguments.append(command) }
        var env = environment
        env["SSHPASS"] = try token ?? agentToken()
        do {
            return (0, try ProcessRunner.run("/usr/bin/sshpass", arguments, environment: env, stdin: stdin))
        } catch let failure as ProcessRunner.Failure {
            return (failure.status, failure.output)
        }
    }

    /// `sftp -b batch` through the gateway.
    func sftp(_ connection: String, batch: String) throws -> (status: Int32, output: String) {
        let batchFile = directory + "/batch-\(UUID().uuidString.prefix(6))"
        try batch.write(toFile: batchFile, atomically: true, encoding: .utf8)
        let arguments = ["-e", "/usr/bin/sftp"] + Self.clientOptions + ["-o", "BatchMode=no", "-b", batchFile, "-P", "\(port)", "\(connection)@127.0.0.1"]
        do {
            return (0, try ProcessRunner.run("/usr/bin/sshpass", arguments, environment: ["SSHPASS": try agentToken()]))
        } catch let failure as ProcessRunner.Failure {
            return (failure.status, failure.output)
        }
    }

    func audit(_ query: String = "") async throws -> [[String: Any]] {
        try await HTTPProbe.audit(adminPort: adminPort, token: try idp.token(subject: "sec-1", groups: ["security"]), query: query)
    }

    /// Recording folders, newest last.
    func recordings() -> [String] {
        RecordingFolders.sessions(in: directory + "/recordings")
    }

    func pendingReview(token: String) async throws -> [String: Any]? {
        try await HTTPProbe.pendingReview(adminPort: adminPort, token: token)
    }
}

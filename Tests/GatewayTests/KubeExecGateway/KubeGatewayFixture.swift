import Foundation
import GatewayTesting
import Testing

/// The Kubernetes API STAND-IN (`Tests/Python/kube_api_standin.py`: no real API server can run
/// here; it speaks the real discovery, object and exec WebSocket protocols behind TLS with its
/// own token), a test identity provider, and kube-exec-gateway in front, driven by the real
/// kubectl binaries of several versions.
struct KubeGatewayFixture {
    let idp: TestIdentityProvider
    let gateway: GatewayProcess
    let standIn: pid_t
    let directory: String
    let port: Int
    let adminPort: Int
    /// Every request the stand-in received (one JSON object a line).
    var standInLog: String { directory + "/standin.jsonl" }

    static let kubectlDirectory = "/usr/lib/google-cloud-sdk/bin"
    static var available: Bool { FileManager.default.isExecutableFile(atPath: kubectlDirectory + "/kubectl.1.30") }

    /// Whether `version` of kubectl is here; when it is not, CI records a failure.
    static func requireKubectl(_ version: String = "1.30") -> Bool {
        if FileManager.default.isExecutableFile(atPath: kubectlDirectory + "/kubectl.\(version)") { return true }
        #expect(ProcessInfo.processInfo.environment["GATEWAY_REQUIRE_PEERS"] == nil, "kubectl \(version) is required in CI")
        return false
    }

    /// `spdyOnly`: the stand-in refuses exec over WebSocket (an API server before 1.30 behind a
    /// proxy): the gateway must fall back to SPDY towards it.
    /// `state`: a state store URL instead of the fixture's own SQLite file; `recordings`: a
    /// recordings folder instead of one in the fixture's folder.
    /// `stalledPort`: adds connection `stalled` whose API server is that port (a listener that never answers).
    static func start(
        spdyOnly: Bool = false, service: String? = nil, state: String? = nil, recordings: String? = nil, stalledPort: Int? = nil
    ) async throws -> KubeGatewayFixture {
        let directory = NSTemporaryDirectory() + "gateway-kube-e2e-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        // One certificate, for 127.0.0.1, serves the gateway and the stand-in; each trusts it as its CA.
        try ProcessRunner.run("/usr/bin/openssl", [
            "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", directory + "/tls.key", "-out", directory + "/tls.crt", "-days", "1",
            "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost",
        ])
        try "standin-upstream-token\n".write(toFile: directory + "/upstream.token", atomically: true, encoding: .utf8)
        let python = try PythonEnvironment.python(importing: "aiohttp", from: "aiohttp")
        let standInPort = ProcessRunner.freePort()
        let script = PythonEnvironment.script("kube_api_standin.py")
        let standIn = try ProcessRunner.spawn([
            python, script, "--port", "\(standInPort)", "--cert", directory + "/tls.crt", "--key", directory + "/tls.key",
            "--token", "standin-upstream-token", "--log", directory + "/standin.jsonl",
        ] + (spdyOnly ? ["--spdy-only"] : []), output: directory + "/standin.log")
        for _ in 0..<100 {
            if (try? String(contentsOfFile: directory + "/standin.log", encoding: .utf8))?.contains("ready") == true { break }
            try await Task.sleep(for: .milliseconds(100))
        }
        let idp = try await TestIdentityProvider.start()
        let port = ProcessRunner.freePort()
        let adminPort = ProcessRunner.freePort()
        func upstream(impersonate: Bool = true, port: Int? = nil) -> String {
            "{ url: \"https://127.0.0.1:\(port ?? standInPort)\", token_file: \(directory)/upstream.token, ca_file: \(directory)/tls.crt, impersonate: \(impersonate) }"
        }
        let yaml = """
            tls: { cert_file: \(directory)/tls.crt, key_file: \(directory)/tls.key }
            identity: { issuer: \(idp.issuer), audience: \(idp.audience) }
            state: { url: "\(state ?? "sqlite://\(directory)/state.sqlite")" }
            recordings: { dir: \(recordings ?? directory + "/recordings") }
            admin_groups: [security]
            services:
              kube: { listen: 127.0.0.1:\(port), admin: 127.0.0.1:\(adminPort), held_request_wait: 5s\(service.map { ", " + $0 } ?? "") }
            connections:
              - name: cluster
                type: kube
                upstream: \(upstream())
                allow_groups: [agents]
                api_passthrough: read_only
                guardrails:
                  - { name: no-delete, verbs: [delete, deletecollection], resources: [pods, deployments, namespaces] }
                  - { name: no-rm-rf, command: rm, flags: [recursive, force], message: "recursive force delete is blocked" }
                approvals:
                  - { name: deploys, pattern: '\\bdeploy-now\\b', reviewer_groups: [sre], timeout: 1m }
                masking: { entities: [EMAIL] }
              - name: writable
                type: kube
                upstream: \(upstream(impersonate: false))
                allow_groups: [agents]
                api_passthrough: all
                approvals:
                  - { name: scaling, verbs: [patch, update], resources: [deployments/scale], reviewer_groups: [sre], timeout: 2m }
              - name: forwarding
                type: kube
                upstream: \(upstream())
                allow_groups: [agents]
                api_passthrough: read_only
                allow_port_forwarding: true
                mask_secrets: false
              - name: exec-only
                type: kube
                upstream: \(upstream())
                allow_groups: [agents]
                api_passthrough: none
            \(stalledPort.map { "  - { name: stalled, type: kube, upstream: \(upstream(port: $0)), allow_groups: [agents] }" } ?? "")
            """
        try yaml.write(toFile: directory + "/gateway.yaml", atomically: true, encoding: .utf8)
        let gateway = try await GatewayProcess.start(binary: "kube-exec-gateway", configPath: directory + "/gateway.yaml", adminPort: adminPort)
        gateway.sweepToken = try idp.token(subject: "secret-sweep", groups: ["security"])
        return KubeGatewayFixture(idp: idp, gateway: gateway, standIn: standIn, directory: directory, port: port, adminPort: adminPort)
    }

    /// Runs `body` against a fresh fixture and stops everything afterwards, also when it throws.
    /// Without the kubectl binaries the test does nothing, except in CI (`GATEWAY_REQUIRE_PEERS`),
    /// where that is a failure.
    static func with(
        spdyOnly: Bool = false, service: String? = nil, state: String? = nil, recordings: String? = nil, stalledPort: Int? = nil,
        _ body: (KubeGatewayFixture) async throws -> Void
    ) async throws {
        guard requireKubectl() else { return }
        let fixture = try await start(spdyOnly: spdyOnly, service: service, state: state, recordings: recordings, stalledPort: stalledPort)
        do {
            try await body(fixture)
        } catch {
            _ = await fixture.stop()
            throw error
        }
        // 0: stopped cleanly, and nothing the gateway wrote holds a credential (SecretSweep).
        let status = await fixture.stop()
        #expect(status == 0, "exit status \(status); the log: \(fixture.gateway.logPath)")
    }

    func stop() async -> Int32 {
        let status = await gateway.stop()
        await idp.stop()
        ProcessRunner.stop(standIn)
        return status
    }

    /// A second kube-exec-gateway on the same configuration and state store (another
    /// instance behind the same load balancer): its listener and admin ports.
    func secondInstance() async throws -> (gateway: GatewayProcess, port: Int, adminPort: Int) {
        let (port, adminPort) = (ProcessRunner.freePort(), ProcessRunner.freePort())
        let yaml = try String(contentsOfFile: directory + "/gateway.yaml", encoding: .utf8)
            .replacingOccurrences(of: "listen: 127.0.0.1:\(self.port),", with: "listen: 127.0.0.1:\(port),")
            .replacingOccurrences(of: "admin: 127.0.0.1:\(self.adminPort),", with: "admin: 127.0.0.1:\(adminPort),")
        try yaml.write(toFile: directory + "/gateway-b.yaml", atomically: true, encoding: .utf8)
        let gateway = try await GatewayProcess.start(binary: "kube-exec-gateway", configPath: directory + "/gateway-b.yaml", adminPort: adminPort)
        return (gateway, port, adminPort)
    }

    /// A request as a client library sends it (curl, with the agent's token): the status and
    /// the JSON body.
    func curl(_ path: String, method: String = "GET", headers: [String] = [], body: String? = nil, port: Int? = nil) throws -> (status: Int, body: [String: Any]) {
        var arguments = ["-s", "-X", method, "--cacert", directory + "/tls.crt", "-H", "Authorization: Bearer \(try agentToken())", "-w", "\n%{http_code}"]
        for header in headers { arguments += ["-H", header] }
        if let body { arguments += ["--data-binary", body] }
        let output = try ProcessRunner.run("/usr/bin/curl", arguments + ["https://127.0.0.1:\(port ?? self.port)\(path)"])
        let lines = output.split(separator: "\n", omittingEmptySubsequences: false)
        let json = (try? JSONSerialization.jsonObject(with: Data(lines.dropLast().joined(separator: "\n").utf8))) as? [String: Any]
        return (Int(lines.last ?? "") ?? 0, json ?? [:])
    }

    func agentToken() throws -> String { try idp.token(subject: "agent-1", email: "agent@example.com", groups: ["agents"]) }

    /// A kubeconfig for `connection` with `token` as the user's bearer token.
    func kubeconfig(_ connection: String, token: String, port: Int? = nil) throws -> String {
        let path = directory + "/kubeconfig-\(connection)-\(UUID().uuidString.prefix(6))"
        try """
        apiVersion: v1
        kind: Config
        clusters: [{name: gw, cluster: {server: "https://127.0.0.1:\(port ?? self.port)/connections/\(connection)", certificate-authority: \(directory)/tls.crt}}]
        users: [{name: agent, user: {token: "\(token)"}}]
        contexts: [{name: gw, context: {cluster: gw, user: agent, namespace: default}}]
        current-context: gw
        """.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    /// Runs `kubectl.<version>` against `connection`; the exit status and stdout and stderr together.
    func kubectl(
        _ arguments: [String], connection: String = "cluster", version: String = "1.30", token: String? = nil, stdin: String = "/dev/null", port: Int? = nil
    ) throws -> (status: Int32, output: String) {
        let config = try kubeconfig(connection, token: token ?? agentToken(), port: port)
        let binary = Self.kubectlDirectory + "/kubectl.\(version)"
        do {
            return (0, try ProcessRunner.run(binary, ["--kubeconfig", config, "--request-timeout", "20s"] + arguments, environment: ["HOME": directory], stdin: stdin))
        } catch let failure as ProcessRunner.Failure {
            return (failure.status, failure.output)
        }
    }

    func audit(_ query: String = "") async throws -> [[String: Any]] {
        try await HTTPProbe.audit(adminPort: adminPort, token: try idp.token(subject: "sec-1", groups: ["security"]), query: query)
    }

    /// The stand-in's log lines whose path contains `fragment`.
    func standInRequests(containing fragment: String) throws -> [[String: Any]] {
        let text = (try? String(contentsOfFile: standInLog, encoding: .utf8)) ?? ""
        return text.split(separator: "\n").compactMap { line in
            guard let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] else { return nil }
            return (object["path"] as? String)?.contains(fragment) == true ? object : nil
        }
    }
}

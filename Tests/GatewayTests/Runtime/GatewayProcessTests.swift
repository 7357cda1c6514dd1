import Foundation
import GatewayRecording
import GatewayState
import GatewayTesting
import Testing

@Suite("Gateway processes end to end")
struct GatewayProcessTests {
    let environment = ["ORDERS_DB_PASSWORD": "s3cret", "LOG_LEVEL": "info"]

    @Test func invalidConfigurationExitsTwoNamingTheKey() async throws {
        let path = NSTemporaryDirectory() + "bad-\(UUID().uuidString.prefix(6)).yaml"
        try """
            identity: { issuer: https://idp, audience: x }
            state: { url: "mysql://nope" }
            recordings: { dir: /tmp/x }
            connections:
              - { name: a, type: postgres, upstream: { host: h, database: d, user: u }, allow_groups: [g], guardrails: [{ name: g, pattern: "(" }] }
            """.write(toFile: path, atomically: true, encoding: .utf8)
        for binary in ["postgres-gateway", "ssh-gateway", "kube-exec-gateway"] {
            let (status, output) = try await GatewayProcess.run(binary: binary, arguments: ["--config", path])
            #expect(status == 2)
            #expect(output.contains("state.url: expected sqlite:///path or postgres://"))
            #expect(output.contains("connections[0].guardrails[0].pattern: invalid regular expression"))
        }
        let (status, output) = try await GatewayProcess.run(binary: "gatewayctl", arguments: ["config", "check", path])
        #expect(status == 2)
        #expect(output.contains("state.url"))
        let missing = try await GatewayProcess.run(binary: "postgres-gateway", arguments: [])
        #expect(missing.status == 2)
    }

    @Test func servesAdminSurfaceAndShutsDownOnSIGTERM() async throws {
        let idp = try await TestIdentityProvider.start()
        defer { Task { await idp.stop() } }
        let fixture = try GatewayFixture.make(idp: idp)
        try fixture.write()
        let check = try await GatewayProcess.run(binary: "gatewayctl", arguments: ["config", "check", fixture.configPath], environment: environment)
        #expect(check.status == 0)
        #expect(check.output.contains("orders (postgres)"))

        // The Kubernetes gateway, in front of an API server that is not there.
        let gateway = try await GatewayProcess.start(binary: "kube-exec-gateway", configPath: fixture.configPath, adminPort: fixture.ports["kube-admin"]!, environment: environment)
        let port = fixture.ports["kube-admin"]!
        func get(_ path: String, _ token: String? = nil) async throws -> HTTPProbe.Response {
            try await HTTPProbe.get(host: "127.0.0.1", port: port, path: path, token: token)
        }

        #expect(try await get("/healthz").status == 200)
        // Not ready: the upstream is down (the listener itself is up).
        let ready = try await get("/readyz")
        #expect(ready.status == 503)
        let checks = (ready.json() as? [String: Any])?["checks"] as? [String: String]
        #expect(checks?["identity"] == "ok")
        #expect(checks?["state"] == "ok")
        #expect(checks?["listener"] == nil)
        #expect(checks?["upstream:cluster"]?.contains("unreachable") == true)
        #expect(gateway.log.contains("listener started"))

        let metrics = try await get("/metrics")
        #expect(metrics.status == 200)
        #expect(metrics.text.contains("gateway_sessions_active{"))
        #expect(metrics.text.contains("connection=\"cluster\""))
        #expect(metrics.text.contains("gateway_decisions_total"))

        // Authorization.
        #expect(try await get("/api/reviews").status == 401)
        let forged = try await get("/api/reviews", try idp.forgedToken())
        #expect(forged.status == 401)
        #expect((forged.json() as? [String: Any])?["error"] as? String == "token refused: the signature does not verify")
        #expect(try await get("/api/reviews", try idp.unsignedToken()).status == 401)
        #expect(try await get("/api/reviews", try idp.token(expiresIn: -3600)).status == 401)

        let agent = try idp.token(subject: "agent-1", email: "agent@example.com", groups: ["agents"])
        let dba = try idp.token(subject: "dba-1", email: "dba@example.com", groups: ["dba"])
        let security = try idp.token(subject: "sec-1", groups: ["security"])
        let outsider = try idp.token(subject: "eve", groups: ["contractors"])

        // A review created by a (future) protocol handler, through the same store.
        let store = try SQLiteStateStore(path: fixture.directory + "/state.sqlite")
        let review = Review(
            expiresAt: Date().addingTimeInterval(600), service: "postgres-gateway", connection: "orders", sessionID: "s-1",
            command: "UPDATE orders SET paid = true WHERE id = 7", rule: "writes",
            requester: Person(subject: "agent-1", email: "agent@example.com", groups: ["agents"]), reviewerGroups: ["dba"]
        )
        try await store.insert(review)

        let listed = try await get("/api/reviews?status=pending", dba)
        #expect(listed.status == 200)
        #expect((listed.json() as? [[String: Any]])?.first?["id"] as? String == review.id)
        #expect(try await get("/api/reviews?status=bogus", dba).status == 400)
        #expect(try await get("/api/reviews/r-none", dba).status == 404)

        func post(_ path: String, _ token: String, _ json: [String: String]? = nil) async throws -> HTTPProbe.Response {
            try await HTTPProbe.post(host: "127.0.0.1", port: port, path: path, token: token, json: json)
        }
        let selfApproval = try await post("/api/reviews/\(review.id)/approve", agent)
        #expect(selfApproval.status == 403)
        #expect(selfApproval.text.contains("cannot review their own request"))
        #expect(try await post("/api/reviews/\(review.id)/approve", outsider).status == 403)
        #expect(try await post("/api/reviews/\(review.id)/reject", dba).status == 400)
        let approved = try await post("/api/reviews/\(review.id)/approve", dba, ["comment": "looks right"])
        #expect(approved.status == 200)
        #expect((approved.json() as? [String: Any])?["status"] as? String == "approved")
        #expect(try await post("/api/reviews/\(review.id)/approve", dba).status == 409)
        #expect(try await store.review(id: review.id)?.status == .approved)

        // Audit: admins only; the refusals and the approval are there, tied to identities.
        #expect(try await get("/api/audit", dba).status == 403)
        let audit = try await get("/api/audit?connection=orders", security)
        #expect(audit.status == 200)
        let actions = (audit.json() as? [[String: Any]])?.compactMap { $0["action"] as? String } ?? []
        // Self-approval, the outsider, and the late second approval.
        #expect(actions.filter { $0 == "review_refused" }.count == 3)
        #expect(actions.contains("approve"))
        let approval = (audit.json() as? [[String: Any]])?.first { $0["action"] as? String == "approve" }
        #expect(approval?["email"] as? String == "dba@example.com")
        #expect(try await get("/api/audit?since=nonsense", security).status == 400)

        // Sessions: a session record held by "another instance" can be killed through this one.
        try await store.upsert(SessionRecord(id: "s-other", service: "postgres-gateway", connection: "orders", user: Person(subject: "agent-1"), instance: "elsewhere:1"))
        let sessions = try await get("/api/sessions", security)
        #expect((sessions.json() as? [[String: Any]])?.map { $0["id"] as? String } == ["s-other"])
        #expect(try await post("/api/sessions/s-other/kill", outsider).status == 403)
        #expect(try await post("/api/sessions/s-other/kill", security).status == 202)
        #expect(try await store.session(id: "s-other")?.killRequested == true)

        // Recordings: sealed ones are listed, verified and served.
        let recorder = try SessionRecorder(directory: fixture.recordingsDirectory, meta: RecordingMeta(sessionID: "s-rec", service: "postgres-gateway", connection: "orders", identity: .init(sub: "agent-1", email: nil, groups: ["agents"]), clientAddress: nil))
        recorder.record(RecordingEvent(type: .query, command: "SELECT 1", rows: 1))
        try recorder.finish()
        let recording = try await get("/api/recordings/s-rec", security)
        #expect((recording.json() as? [String: Any])?["verified"] as? Bool == true)
        #expect(try await get("/api/recordings/s-rec", outsider).status == 404)
        #expect(try await get("/api/recordings/s-rec", agent).status == 200)
        #expect(try await get("/api/recordings/..%2Fetc", security).status >= 400)

        // gatewayctl against the running gateway.
        let ctl = try await GatewayProcess.run(binary: "gatewayctl", arguments: ["reviews", "list", "--admin", gateway.adminURL, "--token", dba])
        #expect(ctl.status == 0)
        #expect(ctl.output.contains(review.id))
        #expect(ctl.output.contains("approved"))
        let verify = try await GatewayProcess.run(binary: "gatewayctl", arguments: ["recordings", "verify", "s-rec", "--admin", gateway.adminURL, "--token", security])
        #expect(verify.status == 0)
        let offline = try await GatewayProcess.run(binary: "gatewayctl", arguments: ["recordings", "verify", fixture.recordingsDirectory + "/s-rec"])
        #expect(offline.status == 0)
        let play = try await GatewayProcess.run(binary: "gatewayctl", arguments: ["recordings", "play", fixture.recordingsDirectory + "/s-rec", "--no-wait"])
        #expect(play.output.contains("SELECT 1"))

        #expect(await gateway.stop() == 0)
        #expect(gateway.log.contains("stopped"))
        await store.close()
    }
}

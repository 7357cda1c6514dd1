import Foundation
import GatewayRecording
import GatewayState
import GatewayTesting
import Testing

/// Every admin API route, asked by each kind of caller: nobody (no token, a malformed header),
/// a requester, a reviewer of one connection reaching for another connection's review, a user
/// reaching for another user's session or recording, and an admin. What is refused is refused
/// with the right status and a JSON error, and what is listed is filtered to what the caller
/// may see.
@Suite("Admin API authorization")
struct AdminAPIAuthorizationTests {
    @Test func everyRouteRefusesCallersItShould() async throws {
        let idp = try await TestIdentityProvider.start()
        defer { Task { await idp.stop() } }
        let fixture = try GatewayFixture.make(idp: idp)
        try fixture.write()
        let gateway = try await GatewayProcess.start(
            binary: "kube-exec-gateway", configPath: fixture.configPath, adminPort: fixture.ports["kube-admin"]!,
            environment: ["ORDERS_DB_PASSWORD": "s3cret"]
        )
        let port = fixture.ports["kube-admin"]!
        func get(_ path: String, _ token: String?) async throws -> HTTPProbe.Response {
            try await HTTPProbe.get(host: "127.0.0.1", port: port, path: path, token: token)
        }
        func post(_ path: String, _ token: String?, _ json: [String: String]? = nil) async throws -> HTTPProbe.Response {
            try await HTTPProbe.post(host: "127.0.0.1", port: port, path: path, token: token, json: json)
        }

        let agent1 = try idp.token(subject: "agent-1", email: "agent1@example.com", groups: ["agents"])
        let agent2 = try idp.token(subject: "agent-2", email: "agent2@example.com", groups: ["agents"])
        let dba = try idp.token(subject: "dba-1", groups: ["dba"])
        let ops = try idp.token(subject: "ops-1", groups: ["ops"])
        let security = try idp.token(subject: "sec-1", groups: ["security"])

        // One review per connection, each with its own reviewers; a session and a recording per agent.
        let store = try SQLiteStateStore(path: fixture.directory + "/state.sqlite")
        func review(_ connection: String, reviewers: [String]) -> Review {
            Review(
                expiresAt: Date().addingTimeInterval(600), service: "kube-exec-gateway", connection: connection, sessionID: "s-\(connection)",
                command: "delete pod web-1", rule: "deletes", requester: Person(subject: "agent-1", email: "agent1@example.com", groups: ["agents"]),
                reviewerGroups: reviewers
            )
        }
        let ordersReview = review("orders", reviewers: ["dba"])
        let clusterReview = review("cluster", reviewers: ["ops"])
        try await store.insert(ordersReview)
        try await store.insert(clusterReview)
        try await store.upsert(SessionRecord(id: "s-agent-1", service: "kube-exec-gateway", connection: "cluster", user: Person(subject: "agent-1"), instance: "elsewhere:1"))
        try await store.upsert(SessionRecord(id: "s-agent-2", service: "kube-exec-gateway", connection: "cluster", user: Person(subject: "agent-2"), instance: "elsewhere:1"))
        for owner in ["agent-1", "agent-2"] {
            let recorder = try SessionRecorder(
                directory: fixture.recordingsDirectory,
                meta: RecordingMeta(sessionID: "s-rec-\(owner)", service: "kube-exec-gateway", connection: "cluster", identity: .init(sub: owner, email: nil, groups: ["agents"]), clientAddress: nil)
            )
            recorder.record(RecordingEvent(type: .exec, command: "ls", decision: "allow"))
            try recorder.finish()
        }

        // Nobody: every route, without a token and with headers that are not a bearer token.
        let routes: [(method: String, path: String)] = [
            ("GET", "/api/reviews"), ("GET", "/api/reviews/\(ordersReview.id)"), ("POST", "/api/reviews/\(ordersReview.id)/approve"),
            ("POST", "/api/reviews/\(ordersReview.id)/reject"), ("GET", "/api/sessions"), ("POST", "/api/sessions/s-agent-1/kill"),
            ("GET", "/api/audit"), ("GET", "/api/recordings"), ("GET", "/api/recordings/s-rec-agent-1"),
            ("GET", "/api/recordings/s-rec-agent-1/files/events.jsonl"),
        ]
        for route in routes {
            for token: String? in [nil, "", "not-a-jwt", "\(agent1).tampered"] {
                let response = route.method == "GET" ? try await get(route.path, token) : try await post(route.path, token, ["comment": "x"])
                #expect(response.status == 401, "\(route.method) \(route.path) with \(token == nil ? "no token" : "a bad token"): \(response.status)")
                #expect((response.json() as? [String: Any])?["error"] is String, "\(response.text)")
            }
        }
        let basic = try await HTTPProbe.get(host: "127.0.0.1", port: port, path: "/api/reviews", headers: ["Authorization": "Basic YWdlbnQ6cHc="])
        #expect(basic.status == 401)
        #expect(basic.text.contains("Bearer"))

        // Reviews: each reviewer sees and decides only their connection's review.
        func ids(_ response: HTTPProbe.Response) -> Set<String> {
            Set(((response.json() as? [[String: Any]]) ?? []).compactMap { $0["id"] as? String })
        }
        #expect(ids(try await get("/api/reviews", dba)) == [ordersReview.id])
        #expect(ids(try await get("/api/reviews", ops)) == [clusterReview.id])
        #expect(ids(try await get("/api/reviews", agent2)).isEmpty)
        #expect(ids(try await get("/api/reviews", agent1)) == [ordersReview.id, clusterReview.id])
        #expect(try await get("/api/reviews/\(clusterReview.id)", dba).status == 404)
        #expect(try await get("/api/reviews/\(ordersReview.id)", agent2).status == 404)
        #expect(try await post("/api/reviews/\(clusterReview.id)/approve", dba).status == 403)
        #expect(try await post("/api/reviews/\(clusterReview.id)/reject", dba, ["comment": "not mine to decide"]).status == 403)
        #expect(try await post("/api/reviews/\(clusterReview.id)/approve", agent1).status == 403)
        #expect(try await post("/api/reviews/\(clusterReview.id)/approve", agent2).status == 403)
        #expect(try await store.review(id: clusterReview.id)?.status == .pending)
        #expect(try await post("/api/reviews/\(clusterReview.id)/approve", ops).status == 200)
        #expect(try await store.review(id: ordersReview.id)?.status == .pending)

        // Sessions: a user sees and kills only their own; an admin, any.
        func sessionIDs(_ token: String) async throws -> Set<String> {
            Set(((try await get("/api/sessions", token).json() as? [[String: Any]]) ?? []).compactMap { $0["id"] as? String })
        }
        #expect(try await sessionIDs(agent1) == ["s-agent-1"])
        #expect(try await sessionIDs(agent2) == ["s-agent-2"])
        #expect(try await sessionIDs(security) == ["s-agent-1", "s-agent-2"])
        #expect(try await post("/api/sessions/s-agent-1/kill", agent2).status == 403)
        #expect(try await post("/api/sessions/s-agent-1/kill", dba).status == 403)
        #expect(try await store.session(id: "s-agent-1")?.killRequested == false)
        #expect(try await post("/api/sessions/s-agent-2/kill", agent2).status == 202)
        #expect(try await post("/api/sessions/s-agent-1/kill", security).status == 202)

        // Audit: admins only.
        for token in [agent1, dba, ops] { #expect(try await get("/api/audit", token).status == 403) }
        #expect(try await get("/api/audit", security).status == 200)

        // Recordings: a user reads only their own, listed or by id or file; an admin, any.
        func recordingIDs(_ token: String) async throws -> Set<String> {
            Set(((try await get("/api/recordings", token).json() as? [[String: Any]]) ?? []).compactMap { $0["session_id"] as? String ?? $0["id"] as? String })
        }
        #expect(try await recordingIDs(agent1) == ["s-rec-agent-1"])
        #expect(try await recordingIDs(security) == ["s-rec-agent-1", "s-rec-agent-2"])
        #expect(try await get("/api/recordings/s-rec-agent-1", agent2).status == 404)
        #expect(try await get("/api/recordings/s-rec-agent-1/files/events.jsonl", agent2).status == 404)
        #expect(try await get("/api/recordings/s-rec-agent-1/files/events.jsonl", agent1).status == 200)
        #expect(try await get("/api/recordings/s-rec-agent-1/files/..%2F..%2Fstate.sqlite", security).status >= 400)

        // Every refused decision is in the audit, tied to who asked.
        // (Audit events are written in batches: read until they are there.)
        var refusers: Set<String> = []
        for _ in 0..<50 {
            let events = try await HTTPProbe.audit(adminPort: port, token: security, query: "&connection=cluster")
            refusers = Set(events.filter { $0["action"] as? String == "review_refused" }.compactMap { $0["sub"] as? String })
            if refusers.count >= 3 { break }
            try await Task.sleep(for: .milliseconds(100))
        }
        #expect(refusers == ["dba-1", "agent-1", "agent-2"])
        #expect(await gateway.stop() == 0)
    }
}

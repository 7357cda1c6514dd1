import Foundation
import GatewayState
import GatewayTesting
import Testing

@Suite("Several gateway processes on one state store")
struct CrossInstanceTests {
    enum Backend: String, CaseIterable, Sendable {
        case sqlite, postgres
    }

    @Test(arguments: Backend.allCases)
    func reviewsAndSessionsAreShared(_ backend: Backend) async throws {
        let idp = try await TestIdentityProvider.start()
        defer { Task { await idp.stop() } }
        let stateURL: String? = backend == .postgres ? try TemporaryPostgres.shared().createDatabase() : nil
        let fixture = try GatewayFixture.make(idp: idp, stateURL: stateURL)
        try fixture.write()
        let environment = ["ORDERS_DB_PASSWORD": "s3cret"]
        async let first = GatewayProcess.start(binary: "postgres-gateway", configPath: fixture.configPath, adminPort: fixture.ports["pg-admin"]!, environment: environment)
        async let second = GatewayProcess.start(binary: "ssh-gateway", configPath: fixture.configPath, adminPort: fixture.ports["ssh-admin"]!, environment: environment)
        let (postgresGateway, sshGateway) = try await (first, second)

        let store: any StateStore = backend == .postgres ? try PostgresStateStore(url: stateURL!, operationTimeout: .seconds(120)) : try SQLiteStateStore(path: fixture.directory + "/state.sqlite")
        // As a gateway does before using the store: waits (unbounded, under the migration
        // lock) until the two gateways starting beside it have created the schema. An insert
        // straight away waited on their DDL, past the store's 15 s operation timeout when the
        // whole suite loaded the shared server.
        try await store.migrate()
        let review = Review(
            expiresAt: Date().addingTimeInterval(600), service: "ssh-gateway", connection: "web-1", sessionID: "s-ssh",
            command: "sudo systemctl restart api", rule: "restarts",
            requester: Person(subject: "agent-1", groups: ["agents"]), reviewerGroups: ["ops"]
        )
        try await store.insert(review)
        let ops = try idp.token(subject: "ops-1", groups: ["ops"])

        // Listed through one gateway, approved through the other.
        let listed = try await HTTPProbe.get(host: "127.0.0.1", port: fixture.ports["pg-admin"]!, path: "/api/reviews?status=pending", token: ops)
        #expect((listed.json() as? [[String: Any]])?.first?["id"] as? String == review.id)
        let approved = try await HTTPProbe.post(host: "127.0.0.1", port: fixture.ports["ssh-admin"]!, path: "/api/reviews/\(review.id)/approve", token: ops)
        #expect(approved.status == 200)
        let seen = try await HTTPProbe.get(host: "127.0.0.1", port: fixture.ports["pg-admin"]!, path: "/api/reviews/\(review.id)", token: ops)
        #expect((seen.json() as? [String: Any])?["status"] as? String == "approved")

        // Both processes write audit events to the one store.
        let security = try idp.token(subject: "sec", groups: ["security"])
        let audit = try await HTTPProbe.get(host: "127.0.0.1", port: fixture.ports["pg-admin"]!, path: "/api/audit", token: security)
        let approvals = (audit.json() as? [[String: Any]])?.filter { $0["action"] as? String == "approve" } ?? []
        #expect(approvals.first?["service"] as? String == "ssh-gateway")

        #expect(await postgresGateway.stop() == 0)
        #expect(await sshGateway.stop() == 0)
        await store.close()
    }
}

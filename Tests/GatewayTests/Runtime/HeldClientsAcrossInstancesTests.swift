import Foundation
import GatewayTesting
import Testing

/// Issue 5's matrix: two postgres-gateway processes and an ssh-gateway on one state store. A
/// client held by one instance is released by an approval made through another's admin API,
/// on the PostgreSQL store (LISTEN/NOTIFY) and on SQLite (processes on one host).
@Suite("Held clients released across gateway instances", .serialized)
struct HeldClientsAcrossInstancesTests {
    @Test(arguments: TwoInstanceDeployment.Store.allCases)
    func approvalThroughAnyInstanceReleasesTheHeldClient(_ store: TwoInstanceDeployment.Store) async throws {
        let deployment = try await TwoInstanceDeployment.make(store: store, row: "before", separateRecordings: false)
        defer { deployment.sshd.stop() }
        let ports = deployment.ports
        let a = try await deployment.startPostgres(.a)
        let b = try await deployment.startPostgres(.b)
        let ssh = try await deployment.startSSH()
        let agent = try deployment.idp.token(subject: "agent-1", groups: ["agents"])
        let dba = try deployment.idp.token(subject: "dba-1", groups: ["dba"])

        func pending(at admin: Int, service: String) async throws -> String? {
            for _ in 0..<100 {
                let list = try await HTTPProbe.get(host: "127.0.0.1", port: admin, path: "/api/reviews?status=pending", token: dba)
                if let review = (list.json() as? [[String: Any]])?.first(where: { $0["service"] as? String == service }) { return review["id"] as? String }
                try await Task.sleep(for: .milliseconds(100))
            }
            return nil
        }

        // An ssh client held by ssh-gateway, seen through postgres-gateway B, approved through A.
        let heldSSH = deployment.ssh("systemctl restart demo 2>/dev/null; echo released", token: agent)
        let sshReview = try #require(try await pending(at: ports.adminB, service: "ssh-gateway"))
        #expect(try await HTTPProbe.post(host: "127.0.0.1", port: ports.adminA, path: "/api/reviews/\(sshReview)/approve", token: dba).status == 200)
        // Released by the approval (an expired review would have refused the command: no "released").
        #expect(try await heldSSH.value?.contains("released") == true)

        // A psql client held by postgres-gateway A, seen through ssh-gateway, approved through B.
        let heldQuery = deployment.psql("UPDATE items SET note = 'after' WHERE id = 1", through: .a, token: agent)
        let queryReview = try #require(try await pending(at: ports.sshAdmin, service: "postgres-gateway"))
        #expect(try await HTTPProbe.post(host: "127.0.0.1", port: ports.adminB, path: "/api/reviews/\(queryReview)/approve", token: dba).status == 200)
        #expect(try await heldQuery.value?.contains("UPDATE 1") == true)
        #expect(try deployment.postgres.sql("SELECT note FROM items WHERE id = 1", database: deployment.targetDatabase).contains("after"))

        #expect(await a.stop() == 0)
        #expect(await b.stop() == 0)
        #expect(await ssh.stop() == 0)
        await deployment.stop()
    }
}

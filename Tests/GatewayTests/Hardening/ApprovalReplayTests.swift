import Foundation
import GatewayState
import GatewayTesting
import Testing

/// An approval is for one request by one requester: it cannot be replayed for a different
/// request (another body, another query, another object) or by another requester, and an
/// approval window covers only its requester, connection and rule, only while it lasts.
@Suite("Approval replay")
struct ApprovalReplayTests {
    @Test func anApprovedAPIRequestCannotBeReplayedChangedOrByAnotherRequester() async throws {
        try await KubeGatewayFixture.with { fixture in
            let patches = { try fixture.standInRequests(containing: "/deployments/api/scale").filter { $0["method"] as? String == "PATCH" }.count }
            func patch(_ replicas: Int, dryRun: Bool = false) -> [String] {
                ["patch", "deployment", "api", "-n", "prod", "--subresource=scale", "--type=merge", "-p", #"{"spec":{"replicas":\#(replicas)}}"#]
                    + (dryRun ? ["--dry-run=server"] : [])
            }
            // agent-1 asks for 5 replicas; nobody answers within held_request_wait, so it is told to retry.
            let first = try fixture.kubectl(patch(5), connection: "writable")
            #expect(first.output.contains("is pending"), "\(first.output)")
            let sre = try fixture.idp.token(subject: "sre-1", email: "sre@example.com", groups: ["sre"])
            let review = try #require(try await HTTPProbe.pendingReview(adminPort: fixture.adminPort, token: sre))
            let id = try #require(review["id"] as? String)
            #expect(try await HTTPProbe.post(host: "127.0.0.1", port: fixture.adminPort, path: "/api/reviews/\(id)/approve", token: sre).status == 200)

            // The approval does not carry over to 500 replicas, to another query, or to another agent.
            let agent2 = try fixture.idp.token(subject: "agent-2", email: "agent2@example.com", groups: ["agents"])
            for (arguments, token) in [(patch(500), nil), (patch(5, dryRun: true), nil), (patch(5), agent2 as String?)] {
                let replay = try fixture.kubectl(arguments, connection: "writable", token: token)
                #expect(replay.status != 0, "\(arguments) \(token == nil ? "agent-1" : "agent-2"): \(replay.output)")
                #expect(replay.output.contains("is pending"), "\(replay.output)")
                #expect(!replay.output.contains(id))
            }
            #expect(try patches() == 0)
            // The request that was approved passes, once.
            let approved = try fixture.kubectl(patch(5), connection: "writable")
            #expect(approved.status == 0, "\(approved.output)")
            #expect(try patches() == 1)
            let again = try fixture.kubectl(patch(5), connection: "writable")
            #expect(again.output.contains("is pending"), "\(again.output)")
            #expect(try patches() == 1)
            // Each replay was held as a review of its own, naming what it would have done.
            let all = try await HTTPProbe.get(host: "127.0.0.1", port: fixture.adminPort, path: "/api/reviews?status=pending", token: sre).json() as? [[String: Any]] ?? []
            let commands = all.compactMap { $0["command"] as? String }
            #expect(commands.contains { $0.contains(#"{"spec":{"replicas":500}}"#) }, "\(commands)")
            #expect(commands.contains { $0.contains("dryRun=All") }, "\(commands)")
            #expect(all.contains { ($0["requester"] as? [String: Any])?["sub"] as? String == "agent-2" })
        }
    }

    @Test func anApprovalWindowCoversOnlyItsRequesterConnectionAndRuleWhileItLasts() {
        let decided = Date()
        var review = Review(
            expiresAt: decided.addingTimeInterval(600), service: "postgres-gateway", connection: "orders", sessionID: "s-1",
            command: "UPDATE orders SET paid = true", rule: "writes", requester: Person(subject: "agent-1"), reviewerGroups: ["dba"],
            grantWindow: 900
        )
        review.status = .approved
        review.decidedAt = decided
        let inside = decided.addingTimeInterval(60)
        #expect(WindowGrant.active(in: [review], requester: "agent-1", connection: "orders", rule: "writes", now: inside)?.id == review.id)
        #expect(WindowGrant.active(in: [review], requester: "agent-2", connection: "orders", rule: "writes", now: inside) == nil)
        #expect(WindowGrant.active(in: [review], requester: "agent-1", connection: "billing", rule: "writes", now: inside) == nil)
        #expect(WindowGrant.active(in: [review], requester: "agent-1", connection: "orders", rule: "deletes", now: inside) == nil)
        #expect(WindowGrant.active(in: [review], requester: "agent-1", connection: "orders", rule: "writes", now: decided.addingTimeInterval(901)) == nil)
        var once = review
        once.grantWindow = nil
        #expect(WindowGrant.active(in: [once], requester: "agent-1", connection: "orders", rule: "writes", now: inside) == nil)
        var rejected = review
        rejected.status = .rejected
        #expect(WindowGrant.active(in: [rejected], requester: "agent-1", connection: "orders", rule: "writes", now: inside) == nil)
    }
}

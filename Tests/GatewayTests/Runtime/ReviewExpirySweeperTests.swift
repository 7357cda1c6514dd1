import Crypto
import Foundation
import GatewayConfig
import GatewayRuntime
import GatewayState
import GatewayTesting
import Logging
import Testing

@Suite("Review expiry sweeper")
struct ReviewExpirySweeperTests {
    /// A review whose holding instance went away expires anyway, exactly once across instances,
    /// with a signed `review.expired` webhook and an audit event.
    @Test func expiresOrphanedReviewsOnceAcrossInstances() async throws {
        let path = NSTemporaryDirectory() + "sweeper-\(UUID().uuidString).sqlite"
        let store = try SQLiteStateStore(path: path)
        try await store.migrate()
        let other = try SQLiteStateStore(path: path)
        let receiver = try await WebhookReceiver.start()
        let logger = Logger(label: "test")
        let webhooks = WebhookNotifier(hooks: [WebhookSettings(url: receiver.url, secret: Secret("hook-secret"))], logger: logger)
        let start = Date()
        func review(_ id: String, expiredAgo: TimeInterval) -> Review {
            Review(id: id, expiresAt: start.addingTimeInterval(-expiredAgo), service: "ssh-gateway", connection: "web", sessionID: "s-gone",
                   command: "systemctl restart api", rule: "restarts", requester: Person(subject: "agent", groups: ["agents"]), reviewerGroups: ["ops"])
        }
        try await store.insert(review("r-orphan", expiredAgo: 30))
        try await store.insert(review("r-just-now", expiredAgo: 0.5))  // inside the grace: a watcher may still close it
        try await store.insert(review("r-future", expiredAgo: -600))
        let directory = NSTemporaryDirectory() + "sweeper-audit-\(UUID().uuidString.prefix(6))"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let first = ReviewExpirySweeper(
            store: store, audit: AuditTrail(service: "ssh-gateway", store: store, recordingsDirectory: directory, logger: logger),
            webhooks: webhooks, service: "ssh-gateway", logger: logger
        )
        let second = ReviewExpirySweeper(
            store: other, audit: AuditTrail(service: "postgres-gateway", store: other, recordingsDirectory: directory, logger: logger),
            webhooks: webhooks, service: "postgres-gateway", logger: logger
        )
        // One clock for every sweep: the grace period is checked against it, not the machine's speed.
        let now = start
        async let a = first.sweep(now: now)
        async let b = second.sweep(now: now)
        #expect(await a + b == 1)
        #expect(try await store.reviews(ids: ["r-orphan"]).first?.status == .expired)
        #expect(try await store.reviews(ids: ["r-just-now"]).first?.status == .pending)
        #expect(try await store.reviews(ids: ["r-future"]).first?.status == .pending)
        #expect(await first.sweep(now: now) == 0)

        let audit = try await store.auditEvents(AuditQuery())
        #expect(audit.filter { $0.action == "expire" && $0.command == "systemctl restart api" }.count == 1)
        var delivery: WebhookReceiver.Delivery?
        for _ in 0..<50 where delivery == nil {
            delivery = receiver.deliveries.first
            if delivery == nil { try await Task.sleep(for: .milliseconds(100)) }
        }
        let received = try #require(delivery)
        #expect(String(decoding: received.body, as: UTF8.self).contains("\"type\":\"review.expired\""))
        let mac = HMAC<SHA256>.authenticationCode(for: received.body, using: SymmetricKey(data: Data("hook-secret".utf8)))
        #expect(received.headers["x-gateway-signature"] == "sha256=" + mac.map { String(format: "%02x", $0) }.joined())
        #expect(receiver.deliveries.count == 1)
        await receiver.stop()
        await store.close()
        await other.close()
    }
}

import Foundation
import GatewayState
import Logging
import ServiceLifecycle

/// Expires pending reviews whose time ran out while no instance was waiting for them (the
/// instance that held the client crashed or was stopped). Every instance sweeps; the store's
/// version check lets exactly one of them close each review, and that one sends the
/// `review.expired` webhook and writes the audit event. Reviews some instance still watches are
/// closed by its `ReviewWatcher` first; a short grace period keeps the sweeper out of its way.
public struct ReviewExpirySweeper: Service {
    let store: any StateStore
    let audit: AuditTrail
    let webhooks: WebhookNotifier
    let service: String
    let interval: Duration
    let grace: TimeInterval
    let logger: Logger

    public init(
        store: any StateStore, audit: AuditTrail, webhooks: WebhookNotifier, service: String,
        interval: Duration = .seconds(5), grace: TimeInterval = 2, logger: Logger
    ) {
        self.store = store
        self.audit = audit
        self.webhooks = webhooks
        self.service = service
        self.interval = interval
        self.grace = grace
        self.logger = logger
    }

    public func run() async throws {
        try? await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                await sweep()
                try await Task.sleep(for: interval)
            }
        }
    }

    /// Closes every overdue pending review this instance wins; returns how many.
    @discardableResult
    public func sweep(now: Date = Date()) async -> Int {
        let pending: [Review]
        do {
            pending = try await store.reviews(status: .pending)
        } catch {
            return 0
        }
        var closed = 0
        for review in pending where now.timeIntervalSince(review.expiresAt) >= grace {
            guard let expired = ReviewDecision.close(review, as: .expired, now: now), (try? await store.update(expired)) == true else { continue }
            closed += 1
            webhooks.reviewEvent(expired, service: service)
            await audit.record(
                AuditEvent(
                    action: "expire", service: service, connection: review.connection, sessionID: review.sessionID,
                    subject: review.requester.subject, email: review.requester.email, groups: review.requester.groups,
                    command: review.command, rule: review.rule,
                    detail: "review \(review.id) timed out with no instance waiting for it (expired by \(service))"
                )
            )
        }
        if closed > 0 { logger.info("expired orphaned reviews", metadata: ["gateway.reviews": "\(closed)"]) }
        return closed
    }
}

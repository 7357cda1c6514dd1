import Foundation
import GatewayPolicy
import GatewayRecording
import GatewayState

/// Holds one command for review, the same way in every gateway: honours an open
/// `grant: window`, stores the review, announces it (webhook, recording, audit), tells the
/// client through the protocol's own channel, waits for the decision without a spinning task,
/// and says whether the command may run.
public struct ApprovalGate: Sendable {
    public enum Outcome: Sendable, Equatable {
        /// Approved now, or covered by an approval window.
        case proceed(reviewID: String)
        /// Rejected, timed out, cancelled or not storable: the message names the review.
        case refused(String)
    }

    public let environment: GatewayEnvironment
    public let identity: Identity
    public let connection: String
    public let sessionID: String
    public let clientAddress: String
    /// The recording event type for the command: `query`, `exec`, `line`.
    public let eventType: RecordingEventType
    /// What the protocol calls the command in messages: "statement", "command".
    public let noun: String

    public init(
        environment: GatewayEnvironment, identity: Identity, connection: String, sessionID: String, clientAddress: String,
        eventType: RecordingEventType, noun: String
    ) {
        self.environment = environment
        self.identity = identity
        self.connection = connection
        self.sessionID = sessionID
        self.clientAddress = clientAddress
        self.eventType = eventType
        self.noun = noun
    }

    var service: String { environment.service.serviceName }

    /// The notice a held client sees.
    public func pendingMessage(_ review: Review, rule: ApprovalRule) -> String {
        "access gateway: review \(review.id) is pending: the \(noun) waits for approval by \(rule.reviewerGroups.joined(separator: ", ")) (rule \"\(rule.name)\")"
    }

    /// Decides on a held command. `tell` delivers the pending notice to the client;
    /// `isClientConnected` lets a disconnect cancel the review.
    public func hold(
        _ command: String, rule: ApprovalRule, justification: String?, recorder: SessionRecorder?,
        tell: @Sendable (Review) async -> Void, isClientConnected: @escaping @Sendable () -> Bool
    ) async -> Outcome {
        if case .window = rule.grant, let approved = try? await environment.store.reviews(status: .approved),
           let grant = WindowGrant.active(in: approved, requester: identity.subject, connection: connection, rule: rule.name) {
            let until = WindowGrant.end(of: grant).map { "\($0)" } ?? "?"
            recorder?.record(RecordingEvent(type: eventType, command: command, decision: "allow", rule: rule.name, reviewID: grant.id, detail: "within the approval window of review \(grant.id) (until \(until))"))
            environment.audit.enqueue(.allow, identity: identity, connection: connection, session: sessionID, command: command, rule: rule.name, detail: "approval window of review \(grant.id) until \(until)")
            return .proceed(reviewID: grant.id)
        }
        let now = Date()
        let review = Review(
            createdAt: now, expiresAt: now.addingTimeInterval(rule.timeout), service: service, connection: connection,
            sessionID: sessionID, command: command, rule: rule.name,
            requester: Person(subject: identity.subject, email: identity.email, groups: identity.groups),
            clientAddress: clientAddress, justification: justification, reviewerGroups: rule.reviewerGroups,
            minApprovals: rule.minApprovals, requireAllGroups: rule.requireAllGroups,
            grantWindow: { if case .window(let seconds) = rule.grant { return seconds } else { return nil } }()
        )
        do {
            try await environment.store.insert(review)
        } catch {
            return .refused("access gateway: the \(noun) needs approval (rule \"\(rule.name)\") and the review could not be stored")
        }
        environment.webhooks.reviewEvent(review, service: service)
        recorder?.record(RecordingEvent(type: eventType, command: command, decision: "hold", rule: rule.name, reviewID: review.id))
        await environment.audit.record(.hold, identity: identity, connection: connection, session: sessionID, command: command, rule: rule.name, detail: "review \(review.id)")
        await tell(review)

        let outcome = await environment.reviews.wait(for: review, isClientConnected: isClientConnected)
        switch outcome.status {
        case .approved:
            recorder?.record(RecordingEvent(type: .review, decision: "approve", rule: rule.name, reviewID: review.id))
            return .proceed(reviewID: review.id)
        case .rejected:
            let comment = outcome.votes.last(where: { !$0.approved })?.comment
            recorder?.record(RecordingEvent(type: .review, decision: "reject", rule: rule.name, reviewID: review.id, detail: comment))
            return .refused("access gateway: review \(review.id) was rejected" + (comment.map { ": \($0)" } ?? ""))
        case .expired:
            environment.webhooks.reviewEvent(outcome, service: service)
            recorder?.record(RecordingEvent(type: .review, decision: "expire", rule: rule.name, reviewID: review.id))
            await environment.audit.record(.expire, identity: identity, connection: connection, session: sessionID, command: command, rule: rule.name, detail: "review \(review.id)")
            return .refused("access gateway: review \(review.id) timed out without a decision")
        case .cancelled, .pending:
            environment.webhooks.reviewEvent(outcome, service: service)
            recorder?.record(RecordingEvent(type: .review, decision: "cancel", rule: rule.name, reviewID: review.id))
            await environment.audit.record(.cancel, identity: identity, connection: connection, session: sessionID, command: command, rule: rule.name, detail: "review \(review.id): the client went away")
            return .refused("access gateway: review \(review.id) was cancelled")
        }
    }
}

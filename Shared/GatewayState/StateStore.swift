import Foundation

/// The one store several gateway instances share: reviews, audit events, sessions.
/// Two implementations pass the same tests: `SQLiteStateStore` and `PostgresStateStore`.
public protocol StateStore: Sendable {
    /// Creates or upgrades the schema; safe to call from several processes at once.
    func migrate() async throws
    /// Answers when the store is reachable (`/readyz`).
    func ping() async throws

    func append(_ event: AuditEvent) async throws
    /// Appends several events in one transaction.
    func append(contentsOf events: [AuditEvent]) async throws
    func auditEvents(_ query: AuditQuery) async throws -> [AuditEvent]

    func insert(_ review: Review) async throws
    func review(id: String) async throws -> Review?
    /// Pending first, then newest first.
    func reviews(status: ReviewStatus?) async throws -> [Review]
    /// The reviews with these ids (missing ones are left out), in one query.
    func reviews(ids: [String]) async throws -> [Review]
    /// Stores `review` if the stored version is `review.version - 1`; false when someone else changed it first.
    func update(_ review: Review) async throws -> Bool

    func upsert(_ session: SessionRecord) async throws
    func session(id: String) async throws -> SessionRecord?
    /// Newest first.
    func sessions(status: SessionStatus?) async throws -> [SessionRecord]
    /// Marks a session for killing; false when there is no such active session.
    func requestKill(sessionID: String) async throws -> Bool

    /// Calls `onChange` with a review's id whenever any instance changes it, until cancelled.
    /// Stores without push notifications (SQLite) just wait: watchers fall back to polling.
    func watchReviewChanges(_ onChange: @escaping @Sendable (String) async -> Void) async

    func close() async
}

extension StateStore {
    public func watchReviewChanges(_ onChange: @escaping @Sendable (String) async -> Void) async {
        while !Task.isCancelled {
            try? await Task.sleep(for: .seconds(3600))
        }
    }
}

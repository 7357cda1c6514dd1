import Foundation
import GatewayState
import Synchronization

/// A real SQLite store behind a switch: while `failing`, every call throws as an unreachable
/// store would; while `holding`, audit appends wait (to catch a replay in the middle).
/// Counts the audit appends that reached it.
final class SwitchableStateStore: StateStore {
    struct Unreachable: Error, CustomStringConvertible {
        var description: String { "the test store is switched off" }
    }

    let inner: SQLiteStateStore
    let failing = Atomic<Bool>(false)
    let holding = Atomic<Bool>(false)
    let appendAttempts = Atomic<Int>(0)

    init(path: String) throws {
        inner = try SQLiteStateStore(path: path)
    }

    private func gate() async throws {
        while holding.load(ordering: .relaxed) { try await Task.sleep(for: .milliseconds(10)) }
        if failing.load(ordering: .relaxed) { throw Unreachable() }
    }

    func migrate() async throws { try await inner.migrate() }
    func ping() async throws {
        try await gate()
        try await inner.ping()
    }
    func append(_ event: AuditEvent) async throws {
        appendAttempts.add(1, ordering: .relaxed)
        try await gate()
        try await inner.append(event)
    }
    func append(contentsOf events: [AuditEvent]) async throws {
        appendAttempts.add(1, ordering: .relaxed)
        try await gate()
        try await inner.append(contentsOf: events)
    }
    func auditEvents(_ query: AuditQuery) async throws -> [AuditEvent] { try await inner.auditEvents(query) }
    func insert(_ review: Review) async throws {
        try await gate()
        try await inner.insert(review)
    }
    func review(id: String) async throws -> Review? { try await inner.review(id: id) }
    func reviews(status: ReviewStatus?) async throws -> [Review] { try await inner.reviews(status: status) }
    func reviews(ids: [String]) async throws -> [Review] { try await inner.reviews(ids: ids) }
    func update(_ review: Review) async throws -> Bool {
        try await gate()
        return try await inner.update(review)
    }
    func upsert(_ session: SessionRecord) async throws {
        try await gate()
        try await inner.upsert(session)
    }
    func session(id: String) async throws -> SessionRecord? { try await inner.session(id: id) }
    func sessions(status: SessionStatus?) async throws -> [SessionRecord] { try await inner.sessions(status: status) }
    func requestKill(sessionID: String) async throws -> Bool { try await inner.requestKill(sessionID: sessionID) }
    func close() async { await inner.close() }
}

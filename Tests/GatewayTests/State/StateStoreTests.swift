import Foundation
@testable import GatewayState
import GatewayTesting
import Synchronization
import Testing

/// One suite, two backends: every test runs against SQLite and against a real PostgreSQL.
@Suite("State store", .serialized)
struct StateStoreTests {
    enum Backend: String, CaseIterable, Sendable {
        case sqlite, postgres
    }

    /// Opens two independent store instances on one fresh store, as two gateway processes would.
    static func open(_ backend: Backend) async throws -> (any StateStore, any StateStore) {
        switch backend {
        case .sqlite:
            let path = NSTemporaryDirectory() + "gateway-state-\(UUID().uuidString).sqlite"
            let first = try SQLiteStateStore(path: path)
            let second = try SQLiteStateStore(path: path)
            async let a: Void = first.migrate()
            async let b: Void = second.migrate()
            _ = try await (a, b)
            return (first, second)
        case .postgres:
            let url = try TemporaryPostgres.shared().createDatabase()
            let first = try PostgresStateStore(url: url, operationTimeout: .seconds(120))
            let second = try PostgresStateStore(url: url, operationTimeout: .seconds(120))
            async let a: Void = first.migrate()
            async let b: Void = second.migrate()
            _ = try await (a, b)
            return (first, second)
        }
    }

    static func review(_ id: String = Review.newID(), created: Date = Date(), status: ReviewStatus = .pending) -> Review {
        Review(
            id: id, status: status, createdAt: created, expiresAt: created.addingTimeInterval(600), service: "postgres-gateway",
            connection: "orders", sessionID: "s-1", command: "UPDATE t SET a = 1 WHERE id = 2", rule: "writes",
            requester: Person(subject: "agent-1", email: "agent@example.com", groups: ["agents"]), clientAddress: "127.0.0.1:5555",
            justification: "ticket 42", reviewerGroups: ["dba"]
        )
    }

    @Test(arguments: Backend.allCases)
    func auditEventsWithFilters(_ backend: Backend) async throws {
        let (store, other) = try await Self.open(backend)
        let start = Date()
        try await store.append(AuditEvent(action: "connect", time: start, service: "postgres-gateway", connection: "orders", sessionID: "s-1", subject: "agent-1", email: "agent@example.com", groups: ["agents"]))
        try await store.append(AuditEvent(action: "block", time: start.addingTimeInterval(1), service: "postgres-gateway", connection: "orders", sessionID: "s-1", subject: "agent-1", command: "DROP TABLE t", rule: "no-drop"))
        try await other.append(AuditEvent(action: "allow", time: start.addingTimeInterval(2), service: "ssh-gateway", connection: "web-1", sessionID: "s-2", subject: "bob", email: "bob@example.com"))

        let all = try await other.auditEvents(AuditQuery())
        #expect(all.map(\.action) == ["connect", "block", "allow"])
        #expect(all[1].command == "DROP TABLE t")
        #expect(all[1].rule == "no-drop")
        #expect(all[0].groups == ["agents"])
        #expect(try await store.auditEvents(AuditQuery(user: "bob@example.com")).map(\.action) == ["allow"])
        #expect(try await store.auditEvents(AuditQuery(user: "agent-1")).count == 2)
        #expect(try await store.auditEvents(AuditQuery(connection: "orders")).count == 2)
        #expect(try await store.auditEvents(AuditQuery(since: start.addingTimeInterval(1.5))).map(\.action) == ["allow"])
        #expect(try await store.auditEvents(AuditQuery(sessionID: "s-2")).count == 1)
        #expect(try await store.auditEvents(AuditQuery(limit: 1)).count == 1)
        await store.close()
        await other.close()
    }

    /// Batches as the audit trail writes them: several multi-row INSERTs and a shorter last
    /// one, absent fields, text with quotes and non-ASCII characters; every event reads back.
    @Test(arguments: Backend.allCases)
    func auditEventBatches(_ backend: Backend) async throws {
        let (store, other) = try await Self.open(backend)
        let start = Date()
        var events: [AuditEvent] = []
        for index in 0..<(64 * 9 + 17) {   // several INSERTs in both stores (64 and 500 rows each), a shorter last one
            let even = index % 2 == 0
            let connection: String? = index % 3 == 0 ? nil : "orders"
            let email: String? = index % 4 == 0 ? nil : index % 11 == 0 ? "" : "agent@example.com"
            let command = "SELECT '\(index)', 'it''s \"é\" ☃' -- \\ \n"
            events.append(AuditEvent(
                action: even ? "allow" : "block", time: start.addingTimeInterval(Double(index) / 1000), service: "postgres-gateway",
                connection: connection, sessionID: "s-\(index % 5)", subject: "agent-\(index % 7)", email: email,
                groups: even ? ["agents", "ops"] : [], command: command, rule: even ? nil : "no-drop"
            ))
        }
        try await store.append(contentsOf: events)
        let read = try await other.auditEvents(AuditQuery(limit: 10_000))
        #expect(read.count == events.count)
        for (written, back) in zip(events, read) {
            var expected = written
            expected.time = back.time
            #expect(back == expected)
            #expect(abs(back.time.timeIntervalSince(written.time)) < 0.001)
        }
        let inOrders = events.filter { $0.connection == "orders" }.count
        let byAgent3 = events.filter { $0.subject == "agent-3" }.count
        #expect(try await other.auditEvents(AuditQuery(connection: "orders", limit: 10_000)).count == inOrders)
        #expect(try await other.auditEvents(AuditQuery(user: "agent-3", limit: 10_000)).count == byAgent3)
        await store.close()
        await other.close()
    }

    @Test(arguments: Backend.allCases)
    func reviewsAcrossInstances(_ backend: Backend) async throws {
        let (store, other) = try await Self.open(backend)
        let now = Date()
        let old = Self.review("r-old", created: now.addingTimeInterval(-60), status: .approved)
        let pending = Self.review("r-pending", created: now.addingTimeInterval(-30))
        let newest = Self.review("r-newest", created: now, status: .rejected)
        try await store.insert(old)
        try await store.insert(pending)
        try await store.insert(newest)

        // The other instance sees them; pending first, then newest first.
        #expect(try await other.reviews(status: nil).map(\.id) == ["r-pending", "r-newest", "r-old"])
        #expect(try await other.reviews(status: .pending).map(\.id) == ["r-pending"])
        #expect(Set(try await other.reviews(ids: ["r-old", "r-newest", "r-missing"]).map(\.id)) == ["r-old", "r-newest"])
        #expect(try await other.reviews(ids: []).isEmpty)
        let loaded = try #require(try await other.review(id: "r-pending"))
        #expect(loaded.command == pending.command)
        #expect(loaded.requester == pending.requester)
        #expect(loaded.justification == "ticket 42")
        #expect(abs(loaded.createdAt.timeIntervalSince(pending.createdAt)) < 0.001)
        #expect(try await other.review(id: "r-missing") == nil)

        // Compare-and-set: a vote through one instance wins; a stale update through the other fails.
        let approved = try ReviewDecision.vote(on: loaded, by: Person(subject: "dba-1", groups: ["dba"]), approve: true, comment: "ok")
        #expect(approved.status == .approved)
        #expect(try await other.update(approved))
        let stale = try ReviewDecision.vote(on: loaded, by: Person(subject: "dba-2", groups: ["dba"]), approve: false, comment: "no")
        #expect(try await store.update(stale) == false)
        #expect(try await store.review(id: "r-pending")?.status == .approved)
        await store.close()
        await other.close()
    }

    @Test(arguments: Backend.allCases)
    func sessionsAndKillRequests(_ backend: Backend) async throws {
        let (store, other) = try await Self.open(backend)
        var session = SessionRecord(id: "s-a", service: "postgres-gateway", connection: "orders", user: Person(subject: "agent-1"), clientAddress: "127.0.0.1:1", instance: "host:1")
        try await store.upsert(session)
        try await store.upsert(SessionRecord(id: "s-b", service: "ssh-gateway", connection: "web-1", user: Person(subject: "bob"), startedAt: Date().addingTimeInterval(5), instance: "host:2"))
        #expect(try await other.sessions(status: .active).map(\.id) == ["s-b", "s-a"])

        #expect(try await other.requestKill(sessionID: "s-a"))
        #expect(try await other.requestKill(sessionID: "s-missing") == false)
        // The holder's own later update does not clear the kill request.
        try await store.upsert(session)
        #expect(try await store.session(id: "s-a")?.killRequested == true)

        session.status = .killed
        session.endedAt = Date()
        try await store.upsert(session)
        #expect(try await other.sessions(status: .active).map(\.id) == ["s-b"])
        #expect(try await other.sessions(status: .killed).map(\.id) == ["s-a"])
        #expect(try await other.requestKill(sessionID: "s-a") == false)
        await store.close()
        await other.close()
    }

    @Test(arguments: Backend.allCases)
    func migrationIsIdempotent(_ backend: Backend) async throws {
        let (store, other) = try await Self.open(backend)
        try await store.migrate()
        try await other.migrate()
        try await store.ping()
        await store.close()
        await other.close()
    }
}

@Suite("SQLite state store upgrades")
struct SQLiteStateStoreUpgradeTests {
    /// Gateway processes that start together open and migrate one fresh file at once, each
    /// through its own connection pool: every one succeeds and the schema is whole. (Opening
    /// switches a fresh file to WAL, which SQLite refuses while another connection does it.)
    @Test func manyStoresOpenAndMigrateOneFileAtOnce() async throws {
        for _ in 0..<60 {
            let path = NSTemporaryDirectory() + "gateway-state-\(UUID().uuidString).sqlite"
            defer {
                for suffix in ["", "-wal", "-shm", ".setup-lock"] { try? FileManager.default.removeItem(atPath: path + suffix) }
            }
            let opened = Mutex<[SQLiteStateStore]>([])
            let failures = Mutex<[String]>([])
            DispatchQueue.concurrentPerform(iterations: 6) { _ in
                do {
                    let store = try SQLiteStateStore(path: path)
                    try store.migrate(upTo: nil)
                    opened.withLock { $0.append(store) }
                } catch {
                    failures.withLock { $0.append("\(error)") }
                }
            }
            #expect(failures.withLock { $0 } == [])
            let stores = opened.withLock { $0 }
            try #require(stores.count == 6)
            let event = AuditEvent(action: "allow", time: Date(timeIntervalSince1970: 1_795_950_000.5), service: "postgres-gateway", command: "SELECT 1")
            try await stores[0].append(event)
            #expect(try await stores[5].auditEvents(AuditQuery()) == [event])
            for store in stores { await store.close() }
        }
    }

    /// Events stored under the first schema (text primary key) read back the same, in the
    /// same order, after the upgrade; new events go after them.
    @Test func auditEventsSurviveTheRowidUpgrade() async throws {
        let path = NSTemporaryDirectory() + "gateway-state-\(UUID().uuidString).sqlite"
        defer { try? FileManager.default.removeItem(atPath: path) }
        let store = try SQLiteStateStore(path: path)
        try store.migrate(upTo: "v1")
        let start = Date(timeIntervalSince1970: 1_795_950_000)
        let old = (0..<300).map { (index: Int) -> AuditEvent in
            let blocked = index % 7 == 0
            let time = start.addingTimeInterval(Double(index / 3))
            return AuditEvent(
                action: blocked ? "block" : "allow", time: time, service: "postgres-gateway", connection: "orders",
                sessionID: "s-\(index % 4)", subject: "agent-\(index % 2)", groups: ["agents"], command: "SELECT \(index)",
                rule: blocked ? "no-drop" : nil
            )
        }
        try await store.append(contentsOf: old)
        try await store.migrate()
        #expect(try await store.auditEvents(AuditQuery(limit: 1000)) == old)
        let later = AuditEvent(action: "allow", time: start.addingTimeInterval(500), service: "postgres-gateway", connection: "orders", command: "SELECT 'later'")
        try await store.append(later)
        #expect(try await store.auditEvents(AuditQuery(limit: 1000)) == old + [later])
        #expect(try await store.auditEvents(AuditQuery(user: "agent-1", sessionID: "s-1", limit: 1000)) == old.filter { $0.subject == "agent-1" && $0.sessionID == "s-1" })
        try await store.migrate()
        await store.close()
    }
}

@Suite("Review decisions")
struct ReviewDecisionTests {
    let dba1 = Person(subject: "dba-1", email: "dba1@example.com", groups: ["dba"])
    let dba2 = Person(subject: "dba-2", groups: ["dba"])
    let sec = Person(subject: "sec-1", groups: ["security"])

    func review(min: Int = 1, all: Bool = false, groups: [String] = ["dba"]) -> Review {
        var review = StateStoreTests.review()
        review.minApprovals = min
        review.requireAllGroups = all
        review.reviewerGroups = groups
        return review
    }

    @Test func requesterCannotApproveOwnRequest() {
        let requester = Person(subject: "agent-1", groups: ["agents", "dba"])
        #expect(throws: ReviewDecision.Refusal.selfReview) { try ReviewDecision.vote(on: review(), by: requester, approve: true, comment: nil) }
    }

    @Test func outsiderIsRefused() {
        #expect(throws: ReviewDecision.Refusal.notAReviewer(groups: ["dba"])) { try ReviewDecision.vote(on: review(), by: sec, approve: true, comment: nil) }
    }

    @Test func twoDistinctReviewers() throws {
        let once = try ReviewDecision.vote(on: review(min: 2), by: dba1, approve: true, comment: nil)
        #expect(once.status == .pending)
        #expect(throws: ReviewDecision.Refusal.alreadyVoted) { try ReviewDecision.vote(on: once, by: dba1, approve: true, comment: nil) }
        let twice = try ReviewDecision.vote(on: once, by: dba2, approve: true, comment: nil)
        #expect(twice.status == .approved)
        #expect(twice.version == 2)
    }

    @Test func requireAllGroups() throws {
        let first = try ReviewDecision.vote(on: review(all: true, groups: ["dba", "security"]), by: dba1, approve: true, comment: nil)
        #expect(first.status == .pending)
        let second = try ReviewDecision.vote(on: first, by: sec, approve: true, comment: nil)
        #expect(second.status == .approved)
    }

    @Test func rejectionEndsIt() throws {
        let rejected = try ReviewDecision.vote(on: review(min: 2), by: dba1, approve: false, comment: "no")
        #expect(rejected.status == .rejected)
        #expect(throws: ReviewDecision.Refusal.notPending(.rejected)) { try ReviewDecision.vote(on: rejected, by: dba2, approve: true, comment: nil) }
    }

    @Test func expiredCannotBeApproved() {
        let late = Date().addingTimeInterval(3600)
        #expect(throws: ReviewDecision.Refusal.notPending(.expired)) { try ReviewDecision.vote(on: review(), by: dba1, approve: true, comment: nil, now: late) }
    }

    @Test func closeAsExpiredOrCancelled() {
        #expect(ReviewDecision.close(review(), as: .expired)?.status == .expired)
        #expect(ReviewDecision.close(review(), as: .cancelled)?.status == .cancelled)
        #expect(ReviewDecision.close(review(), as: .approved) == nil)
    }
}

@Suite("Audit event documents")
struct AuditEventDocumentTests {
    @Test func handWrittenJSONRoundTrips() throws {
        let event = AuditEvent(
            action: "block", time: Date(timeIntervalSince1970: 1_795_950_000.25), service: "postgres-gateway", connection: "orders",
            sessionID: "s-1", subject: "agent-1", email: "a@example.com", groups: ["agents", "x\"y"], command: "DROP TABLE \"t\";\n\t\\ é \u{1}",
            rule: "no-drop", detail: nil, clientAddress: "127.0.0.1:5"
        )
        #expect(try Self.readBack(event, body: event.storeBody()) == event)
        #expect(!event.storeBody().contains("agent-1"), "the columns hold the identity; the document holds the rest")
    }

    /// Rows written before the document was slimmed hold the whole event (JSONEncoder's
    /// document) in `body`: they read back the same.
    @Test func wholeEventDocumentsStillRead() throws {
        let event = AuditEvent(
            action: "allow", time: Date(timeIntervalSince1970: 1_795_950_000.5), service: "ssh-gateway", connection: "web",
            sessionID: "s-2", subject: "u", email: nil, groups: ["ops"], command: "uptime", clientAddress: "10.0.0.1:22"
        )
        #expect(try Self.readBack(event, body: StoreCoding.encode(event)) == event)
    }

    static func readBack(_ event: AuditEvent, body: String) throws -> AuditEvent {
        try AuditEvent(
            storeID: event.id, time: event.time.timeIntervalSince1970, service: event.service, connection: event.connection,
            sessionID: event.sessionID, subject: event.subject, email: event.email, action: event.action, body: body
        )
    }
}

@Suite("Audit event ids")
struct AuditEventIDTests {
    /// `<16 hex digits of the process>-<counter in hex>`: unique, and the counter counts up by one.
    @Test func processPrefixThenCounter() throws {
        let ids = (0..<2_000).map { _ in AuditEvent.newID() }
        #expect(Set(ids).count == ids.count)
        let prefix = try #require(ids.first?.split(separator: "-").first)
        #expect(prefix.count == 16 && prefix.allSatisfy(\.isHexDigit))
        let counters = try ids.map { id in
            let parts = id.split(separator: "-")
            #expect(parts.count == 2 && parts[0] == prefix && parts[1].allSatisfy { $0.isHexDigit && !$0.isUppercase })
            #expect(parts[1] == "0" || !parts[1].hasPrefix("0"), "no leading zeros")
            return try #require(UInt64(parts[1], radix: 16))
        }
        // Other tests may take ids at the same time: the counter only grows.
        #expect(zip(counters, counters.dropFirst()).allSatisfy { $0 < $1 })
    }
}

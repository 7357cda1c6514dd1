#if canImport(Glibc)
import Glibc
#endif
import Foundation
import GRDB

/// The embedded default: one SQLite file in WAL mode, shared by processes on one host.
public final class SQLiteStateStore: StateStore {
    private let pool: DatabasePool

    public init(path: String) throws {
        let directory = (path as NSString).deletingLastPathComponent
        if !directory.isEmpty {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        }
        var configuration = Configuration()
        // Other gateway processes may hold the write lock briefly.
        configuration.busyMode = .timeout(10)
        configuration.prepareDatabase { db in
            try db.execute(sql: "PRAGMA synchronous = NORMAL")
        }
        // Opening a fresh file switches it to WAL, which SQLite refuses ("database is
        // locked", without waiting) while another process does the same.
        pool = try Self.exclusively(path) { try DatabasePool(path: path, configuration: configuration) }
    }

    /// Runs `body` while holding `<path>.setup-lock`: one process at a time opens a fresh
    /// file or migrates it, across every gateway process on the host.
    private static func exclusively<T>(_ path: String, _ body: () throws -> T) throws -> T {
        let lockPath = path + ".setup-lock"
        let lock = open(lockPath, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard lock >= 0 else { throw StateStoreError.setupLock("cannot open \(lockPath)") }
        defer { _ = Glibc.close(lock) }
        while flock(lock, LOCK_EX) != 0 {
            guard errno == EINTR else { throw StateStoreError.setupLock("cannot lock \(lockPath)") }
        }
        return try body()
    }

    public func migrate() async throws {
        try migrate(upTo: nil)
    }

    /// Applies the migrations up to `target` (all when nil); tests upgrade from older schemas.
    func migrate(upTo target: String?) throws {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1") { db in
            try db.execute(sql: """
                CREATE TABLE audit_events (
                    id TEXT PRIMARY KEY, time REAL NOT NULL, service TEXT NOT NULL, connection TEXT,
                    session_id TEXT, subject TEXT, email TEXT, action TEXT NOT NULL, body TEXT NOT NULL);
                CREATE INDEX audit_events_time ON audit_events(time);
                CREATE TABLE reviews (
                    id TEXT PRIMARY KEY, status TEXT NOT NULL, created_at REAL NOT NULL,
                    version INTEGER NOT NULL, body TEXT NOT NULL);
                CREATE INDEX reviews_status ON reviews(status, created_at);
                CREATE TABLE sessions (
                    id TEXT PRIMARY KEY, status TEXT NOT NULL, started_at REAL NOT NULL,
                    kill_requested INTEGER NOT NULL DEFAULT 0, body TEXT NOT NULL);
                CREATE INDEX sessions_status ON sessions(status, started_at);
                """)
        }
        // The audit table without its text primary key: event ids are unique by construction
        // (a random process prefix and a counter), and the key's second B-tree cost a third
        // of the work of storing each allowed statement's event. Rows keep their order.
        migrator.registerMigration("v2-audit-rowid") { db in
            try db.execute(sql: """
                CREATE TABLE audit_events_v2 (
                    id TEXT NOT NULL, time REAL NOT NULL, service TEXT NOT NULL, connection TEXT,
                    session_id TEXT, subject TEXT, email TEXT, action TEXT NOT NULL, body TEXT NOT NULL);
                INSERT INTO audit_events_v2 (\(AuditEvent.storeColumns))
                    SELECT \(AuditEvent.storeColumns) FROM audit_events ORDER BY rowid;
                DROP TABLE audit_events;
                ALTER TABLE audit_events_v2 RENAME TO audit_events;
                CREATE INDEX audit_events_time ON audit_events(time);
                """)
        }
        // One migrator at a time: GRDB reads which migrations are applied before running each
        // in its own transaction, so two processes starting together could both run the same
        // one ("table already exists").
        try Self.exclusively(pool.path) {
            if let target { try migrator.migrate(pool, upTo: target) } else { try migrator.migrate(pool) }
        }
    }

    public func ping() async throws {
        _ = try await pool.read { db in try Int.fetchOne(db, sql: "SELECT 1") }
    }

    public func append(_ event: AuditEvent) async throws {
        try await append(contentsOf: [event])
    }

    public func append(contentsOf events: [AuditEvent]) async throws {
        guard !events.isEmpty else { return }
        try await pool.write { db in try SQLiteAuditInsert.insert(events, into: db) }
    }

    public func auditEvents(_ query: AuditQuery) async throws -> [AuditEvent] {
        var clauses: [String] = []
        var arguments: StatementArguments = []
        if let since = query.since {
            clauses.append("time >= ?")
            _ = arguments.append(contentsOf: [since.timeIntervalSince1970])
        }
        if let user = query.user {
            clauses.append("(subject = ? OR email = ?)")
            _ = arguments.append(contentsOf: [user, user])
        }
        if let connection = query.connection {
            clauses.append("connection = ?")
            _ = arguments.append(contentsOf: [connection])
        }
        if let session = query.sessionID {
            clauses.append("session_id = ?")
            _ = arguments.append(contentsOf: [session])
        }
        let whereClause = clauses.isEmpty ? "" : "WHERE " + clauses.joined(separator: " AND ")
        let sql = "SELECT \(AuditEvent.storeColumns) FROM audit_events \(whereClause) ORDER BY time, rowid LIMIT \(max(1, query.limit))"
        return try await pool.read { [arguments] db in
            try Row.fetchAll(db, sql: sql, arguments: arguments).map { row in
                try AuditEvent(
                    storeID: row[0], time: row[1], service: row[2], connection: row[3], sessionID: row[4], subject: row[5],
                    email: row[6], action: row[7], body: row[8]
                )
            }
        }
    }

    public func insert(_ review: Review) async throws {
        let body = try StoreCoding.encode(review)
        try await pool.write { db in
            try db.execute(
                sql: "INSERT INTO reviews (id, status, created_at, version, body) VALUES (?, ?, ?, ?, ?)",
                arguments: [review.id, review.status.rawValue, review.createdAt.timeIntervalSince1970, review.version, body]
            )
        }
    }

    public func review(id: String) async throws -> Review? {
        let body = try await pool.read { db in try String.fetchOne(db, sql: "SELECT body FROM reviews WHERE id = ?", arguments: [id]) }
        return try body.map { try StoreCoding.decode(Review.self, $0) }
    }

    public func reviews(status: ReviewStatus?) async throws -> [Review] {
        let rows = try await pool.read { db in
            if let status {
                return try String.fetchAll(db, sql: "SELECT body FROM reviews WHERE status = ? ORDER BY created_at DESC", arguments: [status.rawValue])
            }
            return try String.fetchAll(db, sql: "SELECT body FROM reviews ORDER BY status <> 'pending', created_at DESC")
        }
        return try rows.map { try StoreCoding.decode(Review.self, $0) }
    }

    public func reviews(ids: [String]) async throws -> [Review] {
        guard !ids.isEmpty else { return [] }
        var found: [Review] = []
        // SQLite caps bound parameters; ask in slices.
        for start in stride(from: 0, to: ids.count, by: 500) {
            let slice = Array(ids[start..<min(start + 500, ids.count)])
            let placeholders = Array(repeating: "?", count: slice.count).joined(separator: ",")
            let rows = try await pool.read { db in
                try String.fetchAll(db, sql: "SELECT body FROM reviews WHERE id IN (\(placeholders))", arguments: StatementArguments(slice))
            }
            found += try rows.map { try StoreCoding.decode(Review.self, $0) }
        }
        return found
    }

    public func update(_ review: Review) async throws -> Bool {
        let body = try StoreCoding.encode(review)
        return try await pool.write { db in
            try db.execute(
                sql: "UPDATE reviews SET status = ?, version = ?, body = ? WHERE id = ? AND version = ?",
                arguments: [review.status.rawValue, review.version, body, review.id, review.version - 1]
            )
            return db.changesCount == 1
        }
    }

    public func upsert(_ session: SessionRecord) async throws {
        try await pool.write { db in
            // A kill requested by another instance survives the holder's own updates.
            let killed = try Bool.fetchOne(db, sql: "SELECT kill_requested FROM sessions WHERE id = ?", arguments: [session.id]) ?? false
            var stored = session
            stored.killRequested = session.killRequested || killed
            try db.execute(
                sql: """
                    INSERT INTO sessions (id, status, started_at, kill_requested, body) VALUES (?, ?, ?, ?, ?)
                    ON CONFLICT(id) DO UPDATE SET status = excluded.status, kill_requested = excluded.kill_requested, body = excluded.body
                    """,
                arguments: [stored.id, stored.status.rawValue, stored.startedAt.timeIntervalSince1970, stored.killRequested, try StoreCoding.encode(stored)]
            )
        }
    }

    public func session(id: String) async throws -> SessionRecord? {
        let body = try await pool.read { db in try String.fetchOne(db, sql: "SELECT body FROM sessions WHERE id = ?", arguments: [id]) }
        return try body.map { try StoreCoding.decode(SessionRecord.self, $0) }
    }

    public func sessions(status: SessionStatus?) async throws -> [SessionRecord] {
        let rows = try await pool.read { db in
            if let status {
                return try String.fetchAll(db, sql: "SELECT body FROM sessions WHERE status = ? ORDER BY started_at DESC", arguments: [status.rawValue])
            }
            return try String.fetchAll(db, sql: "SELECT body FROM sessions ORDER BY started_at DESC")
        }
        return try rows.map { try StoreCoding.decode(SessionRecord.self, $0) }
    }

    public func requestKill(sessionID: String) async throws -> Bool {
        try await pool.write { db in
            guard let body = try String.fetchOne(db, sql: "SELECT body FROM sessions WHERE id = ? AND status = 'active'", arguments: [sessionID]) else {
                return false
            }
            var session = try StoreCoding.decode(SessionRecord.self, body)
            session.killRequested = true
            try db.execute(
                sql: "UPDATE sessions SET kill_requested = 1, body = ? WHERE id = ?",
                arguments: [try StoreCoding.encode(session), sessionID]
            )
            return true
        }
    }

    public func close() async {
        try? pool.close()
    }
}

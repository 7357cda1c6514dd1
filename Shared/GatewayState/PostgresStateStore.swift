import Foundation
import Logging
import NIOSSL
import PostgresNIO
import Synchronization

/// The shared store for several hosts: a PostgreSQL database reached through postgres-nio.
public final class PostgresStateStore: StateStore {
    private let client: PostgresClient
    private let runner: Task<Void, Never>

    /// `postgres://user:password@host:port/database?sslmode=disable|prefer|require|verify-full`
    public init(url: String, logger: Logger = Logger(label: "gateway.state"), operationTimeout: Duration = defaultOperationTimeout) throws {
        self.operationTimeout = operationTimeout
        guard let components = URLComponents(string: url), let host = components.host, !host.isEmpty else {
            throw StateStoreError.unsupportedURL("postgres URL without a host")
        }
        let mode = components.queryItems?.first { $0.name == "sslmode" }?.value ?? "prefer"
        let tls: PostgresClient.Configuration.TLS
        switch mode {
        case "disable":
            tls = .disable
        case "verify-full":
            tls = .require(.makeClientConfiguration())
        case "require":
            var config = TLSConfiguration.makeClientConfiguration()
            config.certificateVerification = .none
            tls = .require(config)
        default:
            var config = TLSConfiguration.makeClientConfiguration()
            config.certificateVerification = .none
            tls = .prefer(config)
        }
        let database = components.path.hasPrefix("/") ? String(components.path.dropFirst()) : components.path
        var configuration = PostgresClient.Configuration(
            host: host, port: components.port ?? 5432,
            username: components.user?.removingPercentEncoding ?? "postgres",
            password: components.password?.removingPercentEncoding,
            database: database.isEmpty ? nil : database, tls: tls
        )
        configuration.options.maximumConnections = 8
        configuration.options.connectTimeout = .seconds(5)
        let client = PostgresClient(configuration: configuration, backgroundLogger: logger)
        self.client = client
        self.runner = Task { await client.run() }
    }

    public func migrate() async throws {
        try await client.withConnection { connection in
            // One migrator at a time across every gateway process.
            try await connection.query("SELECT pg_advisory_lock(727274)", logger: Self.logger)
            do {
                try await connection.query("""
                    CREATE TABLE IF NOT EXISTS gateway_schema (version INTEGER NOT NULL)
                    """, logger: Self.logger)
                let rows = try await connection.query("SELECT coalesce(max(version), 0) FROM gateway_schema", logger: Self.logger)
                var version = 0
                for try await (value) in rows.decode(Int.self) { version = value }
                if version < 1 {
                    for statement in Self.schemaV1 {
                        try await connection.query(PostgresQuery(unsafeSQL: statement), logger: Self.logger)
                    }
                    try await connection.query("INSERT INTO gateway_schema (version) VALUES (1)", logger: Self.logger)
                }
                if version < 2 {
                    for statement in Self.schemaV2 {
                        try await connection.query(PostgresQuery(unsafeSQL: statement), logger: Self.logger)
                    }
                    try await connection.query("INSERT INTO gateway_schema (version) VALUES (2)", logger: Self.logger)
                }
            } catch {
                _ = try? await connection.query("SELECT pg_advisory_unlock(727274)", logger: Self.logger)
                throw error
            }
            try await connection.query("SELECT pg_advisory_unlock(727274)", logger: Self.logger)
        }
    }

    static let logger = Logger(label: "gateway.state.postgres")

    static let schemaV1 = [
        """
        CREATE TABLE gateway_audit_events (
            seq BIGSERIAL PRIMARY KEY, id TEXT UNIQUE NOT NULL, time DOUBLE PRECISION NOT NULL, service TEXT NOT NULL,
            connection TEXT, session_id TEXT, subject TEXT, email TEXT, action TEXT NOT NULL, body TEXT NOT NULL)
        """,
        "CREATE INDEX gateway_audit_events_time ON gateway_audit_events(time)",
        """
        CREATE TABLE gateway_reviews (
            id TEXT PRIMARY KEY, status TEXT NOT NULL, created_at DOUBLE PRECISION NOT NULL,
            version INTEGER NOT NULL, body TEXT NOT NULL)
        """,
        "CREATE INDEX gateway_reviews_status ON gateway_reviews(status, created_at)",
        """
        CREATE TABLE gateway_sessions (
            id TEXT PRIMARY KEY, status TEXT NOT NULL, started_at DOUBLE PRECISION NOT NULL,
            kill_requested BOOLEAN NOT NULL DEFAULT false, body TEXT NOT NULL)
        """,
        "CREATE INDEX gateway_sessions_status ON gateway_sessions(status, started_at)",
    ]

    /// Sealed recordings (`RecordingArchive`): a row once the upload is whole, its chunks beside it.
    static let schemaV2 = [
        """
        CREATE TABLE gateway_recordings (
            session_id TEXT PRIMARY KEY, stored_at DOUBLE PRECISION NOT NULL, instance TEXT NOT NULL,
            meta BYTEA NOT NULL, seal BYTEA NOT NULL, chunk_counts TEXT NOT NULL)
        """,
        "CREATE INDEX gateway_recordings_stored_at ON gateway_recordings(stored_at)",
        """
        CREATE TABLE gateway_recording_chunks (
            session_id TEXT NOT NULL, file TEXT NOT NULL, chunk INTEGER NOT NULL, data BYTEA NOT NULL,
            PRIMARY KEY (session_id, file, chunk))
        """,
    ]

    /// How long an operation waits for the server. While the server cannot be reached,
    /// PostgresClient queues a request until a connection opens, without bound: a store that
    /// does not answer within this is an error, which callers handle (new sessions fail closed,
    /// audit events go to the fallback file, `/readyz` says so).
    let operationTimeout: Duration
    /// The default `operationTimeout`. (Tests that run the store inside the test process,
    /// whose cooperative threads other tests block with synchronous process waits, pass more.)
    public static let defaultOperationTimeout: Duration = .seconds(15)
    /// While the store is known to be away, how often a background ping asks again.
    static let probeInterval: Duration = .seconds(2)

    /// Set when an operation found no answer within `operationTimeout`, cleared when a probe
    /// gets one: meanwhile every operation fails at once instead of each waiting out the
    /// timeout (a session refused in 15 s is a session held for 15 s).
    private let away = Atomic<Bool>(false)
    private let probing = Atomic<Bool>(false)

    /// `operation` on a leased connection, or `StateStoreError.unavailable` when it has not
    /// answered within `operationTimeout` (it is cancelled then, and not waited for) or the
    /// store is known to be away. The whole operation is bounded, not only the wait for a
    /// connection: a query sent to a server that then vanished was seen to hang unanswered.
    func answered<T: Sendable>(_ operation: @escaping @Sendable (PostgresConnection) async throws -> T) async throws -> T {
        guard !away.load(ordering: .relaxed) else {
            throw StateStoreError.unavailable("the PostgreSQL state store is not answering (checked every \(Self.probeInterval))")
        }
        do {
            return try await Self.bounded(client, timeout: operationTimeout, operation)
        } catch let error as StateStoreError {
            markAway()
            throw error
        }
    }

    private static func bounded<T: Sendable>(
        _ client: PostgresClient, timeout: Duration, _ operation: @escaping @Sendable (PostgresConnection) async throws -> T
    ) async throws -> T {
        try await answer(within: timeout, {
            try await client.withConnection { connection in try await operation(connection) }
        }, onTimeout: {
            StateStoreError.unavailable("the PostgreSQL state store did not answer within \(timeout)")
        })
    }

    /// Notes the store away and starts the probe that notices its return.
    private func markAway() {
        away.store(true, ordering: .relaxed)
        guard probing.compareExchange(expected: false, desired: true, ordering: .relaxed).exchanged else { return }
        let client = self.client
        Task {
            while away.load(ordering: .relaxed), !Task.isCancelled {
                try? await Task.sleep(for: Self.probeInterval)
                if (try? await Self.bounded(client, timeout: operationTimeout, { connection in try await connection.query("SELECT 1", logger: Self.logger) })) != nil {
                    away.store(false, ordering: .relaxed)
                    Self.logger.info("the PostgreSQL state store answers again")
                }
            }
            probing.store(false, ordering: .relaxed)
        }
    }

    public func ping() async throws {
        return try await answered { connection in
            try await connection.query("SELECT 1", logger: Self.logger)
        }
    }

    public func append(_ event: AuditEvent) async throws {
        return try await answered { connection in
            try await connection.query(Self.insert([event][...]), logger: Self.logger)
        }
    }

    /// Many rows per INSERT, one round trip each: at tens of thousands of statements a second
    /// a round trip per event could not keep up with the audit trail's 200 ms batches.
    public func append(contentsOf events: [AuditEvent]) async throws {
        guard !events.isEmpty else { return }
        return try await answered { connection in
            try await connection.withTransaction(logger: Self.logger) { connection in
                for chunk in AuditEvent.batches(events, of: Self.rowsPerInsert) {
                    try await connection.query(Self.insert(chunk), logger: Self.logger)
                }
            }
        }
    }

    /// `AuditEvent.storeColumnCount` parameters a row; PostgreSQL allows 65,535 in one statement.
    static let rowsPerInsert = 500

    static func insert(_ events: ArraySlice<AuditEvent>) -> PostgresQuery {
        var sql = PostgresQuery.StringInterpolation(literalCapacity: 128 + events.count * 48, interpolationCount: events.count * AuditEvent.storeColumnCount)
        sql.appendLiteral("INSERT INTO gateway_audit_events (\(AuditEvent.storeColumns)) VALUES ")
        for (index, event) in events.enumerated() {
            sql.appendLiteral(index == 0 ? "(" : ", (")
            sql.appendInterpolation(event.id)
            sql.appendLiteral(", ")
            sql.appendInterpolation(event.time.timeIntervalSince1970)
            event.forEachStoreText { text in
                sql.appendLiteral(", ")
                sql.appendInterpolation(text)
            }
            sql.appendLiteral(", ")
            sql.appendInterpolation(event.storeBody())
            sql.appendLiteral(")")
        }
        return PostgresQuery(stringInterpolation: sql)
    }

    public func auditEvents(_ query: AuditQuery) async throws -> [AuditEvent] {
        return try await answered { connection in
            let since = query.since?.timeIntervalSince1970 ?? 0
            let limit = max(1, query.limit)
            let rows = try await connection.query("""
                SELECT \(unescaped: AuditEvent.storeColumns) FROM gateway_audit_events
                WHERE time >= \(since)
                  AND (\(query.user)::text IS NULL OR subject = \(query.user) OR email = \(query.user))
                  AND (\(query.connection)::text IS NULL OR connection = \(query.connection))
                  AND (\(query.sessionID)::text IS NULL OR session_id = \(query.sessionID))
                ORDER BY time, seq LIMIT \(limit)
                """, logger: Self.logger)
            var events: [AuditEvent] = []
            for try await row in rows.decode((String, Double, String, String?, String?, String?, String?, String, String).self) {
                events.append(try AuditEvent(
                    storeID: row.0, time: row.1, service: row.2, connection: row.3, sessionID: row.4, subject: row.5, email: row.6, action: row.7, body: row.8
                ))
            }
            return events
        }
    }

    public func insert(_ review: Review) async throws {
        return try await answered { connection in
            let body = try StoreCoding.encode(review)
            try await connection.query("""
                INSERT INTO gateway_reviews (id, status, created_at, version, body)
                VALUES (\(review.id), \(review.status.rawValue), \(review.createdAt.timeIntervalSince1970), \(review.version), \(body))
                """, logger: Self.logger)
        }
    }

    public func review(id: String) async throws -> Review? {
        return try await answered { connection in
            let rows = try await connection.query("SELECT body FROM gateway_reviews WHERE id = \(id)", logger: Self.logger)
            return try await Self.decodeAll(rows, as: Review.self).first
        }
    }

    public func reviews(status: ReviewStatus?) async throws -> [Review] {
        return try await answered { connection in
            let rows = try await connection.query("""
                SELECT body FROM gateway_reviews WHERE (\(status?.rawValue)::text IS NULL OR status = \(status?.rawValue))
                ORDER BY status <> 'pending', created_at DESC
                """, logger: Self.logger)
            return try await Self.decodeAll(rows, as: Review.self)
        }
    }

    public func reviews(ids: [String]) async throws -> [Review] {
        guard !ids.isEmpty else { return [] }
        return try await answered { connection in
            let rows = try await connection.query("SELECT body FROM gateway_reviews WHERE id = ANY(\(ids))", logger: Self.logger)
            return try await Self.decodeAll(rows, as: Review.self)
        }
    }

    public func update(_ review: Review) async throws -> Bool {
        return try await answered { connection in
            let body = try StoreCoding.encode(review)
            // The change is announced to every instance listening (LISTEN gateway_reviews).
            let rows = try await connection.query("""
                WITH changed AS (
                    UPDATE gateway_reviews SET status = \(review.status.rawValue), version = \(review.version), body = \(body)
                    WHERE id = \(review.id) AND version = \(review.version - 1) RETURNING id)
                SELECT pg_notify('\(unescaped: Self.reviewChannel)', id) FROM changed
                """, logger: Self.logger)
            var updated = false
            for try await _ in rows { updated = true }
            return updated
        }
    }

    static let reviewChannel = "gateway_reviews"

    public func watchReviewChanges(_ onChange: @escaping @Sendable (String) async -> Void) async {
        while !Task.isCancelled {
            do {
                try await client.withConnection { connection in
                    try await connection.listen(on: Self.reviewChannel) { notifications in
                        for try await notification in notifications {
                            await onChange(notification.payload)
                        }
                    }
                }
            } catch {
                if Task.isCancelled { return }
                Self.logger.warning("review notifications interrupted; listening again", metadata: ["gateway.error": "\(error)"])
                try? await Task.sleep(for: .seconds(1))
            }
        }
    }

    public func upsert(_ session: SessionRecord) async throws {
        return try await answered { connection in
            let body = try StoreCoding.encode(session)
            // kill_requested only ever goes from false to true; the body's flag follows the column on read.
            try await connection.query("""
                INSERT INTO gateway_sessions (id, status, started_at, kill_requested, body)
                VALUES (\(session.id), \(session.status.rawValue), \(session.startedAt.timeIntervalSince1970), \(session.killRequested), \(body))
                ON CONFLICT (id) DO UPDATE SET status = excluded.status,
                    kill_requested = gateway_sessions.kill_requested OR excluded.kill_requested, body = excluded.body
                """, logger: Self.logger)
        }
    }

    public func session(id: String) async throws -> SessionRecord? {
        return try await answered { connection in
            let rows = try await connection.query("SELECT body, kill_requested FROM gateway_sessions WHERE id = \(id)", logger: Self.logger)
            return try await Self.decodeSessions(rows).first
        }
    }

    public func sessions(status: SessionStatus?) async throws -> [SessionRecord] {
        return try await answered { connection in
            let rows = try await connection.query("""
                SELECT body, kill_requested FROM gateway_sessions WHERE (\(status?.rawValue)::text IS NULL OR status = \(status?.rawValue))
                ORDER BY started_at DESC
                """, logger: Self.logger)
            return try await Self.decodeSessions(rows)
        }
    }

    public func requestKill(sessionID: String) async throws -> Bool {
        return try await answered { connection in
            let rows = try await connection.query("""
                UPDATE gateway_sessions SET kill_requested = true WHERE id = \(sessionID) AND status = 'active' RETURNING id
                """, logger: Self.logger)
            var found = false
            for try await _ in rows { found = true }
            return found
        }
    }

    public func close() async {
        away.store(false, ordering: .relaxed)
        runner.cancel()
        _ = await runner.value
    }

    private static func decodeAll<T: Decodable>(_ rows: PostgresRowSequence, as type: T.Type) async throws -> [T] {
        var values: [T] = []
        for try await body in rows.decode(String.self) {
            values.append(try StoreCoding.decode(type, body))
        }
        return values
    }

    private static func decodeSessions(_ rows: PostgresRowSequence) async throws -> [SessionRecord] {
        var values: [SessionRecord] = []
        for try await (body, killed) in rows.decode((String, Bool).self) {
            var session = try StoreCoding.decode(SessionRecord.self, body)
            session.killRequested = session.killRequested || killed
            values.append(session)
        }
        return values
    }
}

import Foundation
import GatewayConfig
import GatewayIdentity
import GatewayPolicy
import GatewayRecording
import GatewayState
import Hummingbird

/// The admin API's handlers: authorization by bearer token, then the state store.
struct AdminAPI: Sendable {
    let context: AdminContext

    /// Verifies the bearer token and runs `body`, turning errors into `{"error": ...}`.
    func handle(_ request: Request, _ body: (Identity) async throws -> Response) async -> Response {
        do {
            let identity = try await authenticate(request)
            return try await body(identity)
        } catch let error as APIError {
            return JSONResponse.error(error)
        } catch {
            return JSONResponse.error(APIError(.internalServerError, "internal error: \(error)"))
        }
    }

    func authenticate(_ request: Request) async throws -> Identity {
        guard let header = request.headers[.authorization] else {
            throw APIError(.unauthorized, "a bearer token is required (Authorization: Bearer <OIDC token>)")
        }
        let parts = header.split(separator: " ", maxSplits: 1)
        guard parts.count == 2, parts[0].lowercased() == "bearer" else {
            throw APIError(.unauthorized, "the Authorization header must be: Bearer <OIDC token>")
        }
        do {
            return try await context.verifier.verify(String(parts[1]).trimmingCharacters(in: .whitespaces))
        } catch {
            context.metrics.authenticationFailure(reason: error.code.rawValue)
            throw APIError(.unauthorized, error.description)
        }
    }

    func isAdmin(_ identity: Identity) -> Bool { identity.isMember(ofAny: context.adminGroups) }

    func requireAdmin(_ identity: Identity, _ what: String) throws {
        guard isAdmin(identity) else {
            throw APIError(.forbidden, "\(what) needs membership in admin_groups (\(context.adminGroups.joined(separator: ", ")))")
        }
    }

    func person(_ identity: Identity) -> Person {
        Person(subject: identity.subject, email: identity.email, groups: identity.groups)
    }

    func audit(_ action: String, _ identity: Identity, connection: String? = nil, session: String? = nil, command: String? = nil, rule: String? = nil, detail: String? = nil) async {
        let event = AuditEvent(
            action: action, service: context.service, connection: connection, sessionID: session, subject: identity.subject,
            email: identity.email, groups: identity.groups, command: command, rule: rule, detail: detail
        )
        try? await context.store.append(event)
    }

    // MARK: - Health

    func readiness() async -> Response {
        var checks: [String: String] = [:]
        var degraded: [String] = []
        var ready = true
        await withTaskGroup(of: (String, ReadinessCheck.Outcome).self) { group in
            for check in context.readiness {
                group.addTask { (check.name, await check.evaluate()) }
            }
            for await (name, outcome) in group {
                switch outcome {
                case .ok:
                    checks[name] = "ok"
                case .degraded(let warning):
                    checks[name] = "degraded: \(warning)"
                    degraded.append(name)
                case .failing(let problem):
                    checks[name] = problem
                    ready = false
                }
            }
        }
        struct Body: Encodable {
            var ready: Bool
            var service: String
            var checks: [String: String]
            /// The checks that pass with a warning.
            var degraded: [String]
        }
        let body = Body(ready: ready, service: context.service, checks: checks, degraded: degraded.sorted())
        return JSONResponse.make(body, status: ready ? .ok : .serviceUnavailable)
    }

    // MARK: - Reviews

    func canSee(_ review: Review, _ identity: Identity) -> Bool {
        isAdmin(identity) || identity.isMember(ofAny: review.reviewerGroups) || review.requester.subject == identity.subject
    }

    func listReviews(_ request: Request, _ identity: Identity) async throws -> Response {
        var status: ReviewStatus?
        if let text = request.uri.queryParameters.get("status"), text != "all" {
            guard let parsed = ReviewStatus(rawValue: text) else {
                throw APIError(.badRequest, "status must be one of \(ReviewStatus.allCases.map(\.rawValue).joined(separator: ", ")) or all")
            }
            status = parsed
        }
        let reviews = try await context.store.reviews(status: status).filter { canSee($0, identity) }
        return JSONResponse.make(reviews)
    }

    func showReview(_ id: String, _ identity: Identity) async throws -> Response {
        guard let review = try await context.store.review(id: id), canSee(review, identity) else {
            throw APIError(.notFound, "no review \(id)")
        }
        return JSONResponse.make(review)
    }

    func decide(_ id: String, approve: Bool, body: ByteBuffer?, _ identity: Identity) async throws -> Response {
        var comment: String?
        if let body, body.readableBytes > 0 {
            guard let object = try? JSONSerialization.jsonObject(with: Data(body.readableBytesView)) as? [String: Any] else {
                throw APIError(.badRequest, "the body must be a JSON object such as {\"comment\": \"...\"}")
            }
            comment = object["comment"] as? String
        }
        if !approve, (comment ?? "").isEmpty {
            throw APIError(.badRequest, "a rejection needs a comment: {\"comment\": \"why\"}")
        }
        for _ in 0..<5 {
            guard let review = try await context.store.review(id: id) else { throw APIError(.notFound, "no review \(id)") }
            let updated: Review
            do {
                updated = try ReviewDecision.vote(on: review, by: person(identity), approve: approve, comment: comment)
            } catch {
                await audit("review_refused", identity, connection: review.connection, session: review.sessionID, command: review.command, rule: review.rule, detail: "\(id): \(error)")
                throw APIError(HTTPResponse.Status(code: error.httpStatus), error.description)
            }
            if try await context.store.update(updated) {
                let action = approve ? (updated.status == .approved ? "approve" : "approve_vote") : "reject"
                await audit(action, identity, connection: review.connection, session: review.sessionID, command: review.command, rule: review.rule, detail: "review \(id)" + (comment.map { ": \($0)" } ?? ""))
                if updated.status.isFinal { context.metrics.decision(approve ? "approve" : "reject", connection: review.connection) }
                await context.reviewDecided(updated)
                return JSONResponse.make(updated)
            }
        }
        throw APIError(.conflict, "the review changed concurrently; try again")
    }

    // MARK: - Sessions

    func listSessions(_ request: Request, _ identity: Identity) async throws -> Response {
        let text = request.uri.queryParameters.get("status") ?? "active"
        let status: SessionStatus? = text == "all" ? nil : SessionStatus(rawValue: text)
        if text != "all", status == nil { throw APIError(.badRequest, "status must be active, ended, killed or all") }
        let sessions = try await context.store.sessions(status: status).filter { isAdmin(identity) || $0.user.subject == identity.subject }
        return JSONResponse.make(sessions)
    }

    func kill(_ id: String, _ identity: Identity) async throws -> Response {
        guard let session = try await context.store.session(id: id) else { throw APIError(.notFound, "no session \(id)") }
        guard isAdmin(identity) || session.user.subject == identity.subject else {
            throw APIError(.forbidden, "killing another user's session needs membership in admin_groups")
        }
        guard session.status == .active else { throw APIError(.conflict, "session \(id) is \(session.status.rawValue)") }
        _ = try await context.store.requestKill(sessionID: id)
        let local = await context.killLocal(id)
        await audit("kill", identity, connection: session.connection, session: id, detail: local ? "ended by this instance" : "kill requested; the holding instance ends it")
        struct Body: Encodable {
            var session: String
            var killed: Bool
            var instance: String
        }
        return JSONResponse.make(Body(session: id, killed: true, instance: session.instance), status: .accepted)
    }

    // MARK: - Audit

    func audit(_ request: Request, _ identity: Identity) async throws -> Response {
        try requireAdmin(identity, "reading the audit log")
        let parameters = request.uri.queryParameters
        var query = AuditQuery()
        if let since = parameters.get("since") {
            guard let date = Self.parseSince(since) else {
                throw APIError(.badRequest, "since must be an ISO-8601 time, unix seconds, or a duration such as 15m")
            }
            query.since = date
        }
        query.user = parameters.get("user")
        query.connection = parameters.get("connection")
        query.sessionID = parameters.get("session")
        if let limit = parameters.get("limit") {
            guard let value = Int(limit), value > 0 else { throw APIError(.badRequest, "limit must be a positive integer") }
            query.limit = min(value, 10_000)
        }
        return JSONResponse.make(try await context.store.auditEvents(query))
    }

    static func parseSince(_ text: String) -> Date? {
        if let seconds = Double(text) { return Date(timeIntervalSince1970: seconds) }
        let formatter = ISO8601DateFormatter()
        if let date = formatter.date(from: text) { return date }
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        if let date = formatter.date(from: text) { return date }
        if let seconds = ConfigDuration.seconds(from: text), text.last?.isLetter == true { return Date().addingTimeInterval(-seconds) }
        return nil
    }

    // MARK: - Recordings

    func recordingFolder(_ id: String) throws -> String {
        guard !id.isEmpty, !id.contains("/"), !id.hasPrefix(".") else { throw APIError(.badRequest, "bad recording id") }
        let folder = (context.recordingsDirectory as NSString).appendingPathComponent(id)
        guard FileManager.default.fileExists(atPath: folder) else { throw APIError(.notFound, "no recording \(id)") }
        return folder
    }

    func meta(_ folder: String) -> [String: Any]? {
        guard let data = FileManager.default.contents(atPath: (folder as NSString).appendingPathComponent("meta.json")) else { return nil }
        return try? JSONSerialization.jsonObject(with: data) as? [String: Any]
    }

    func mayRead(_ meta: [String: Any]?, _ identity: Identity) -> Bool {
        if isAdmin(identity) { return true }
        let owner = (meta?["identity"] as? [String: Any])?["sub"] as? String
        return owner == identity.subject
    }

    func listRecordings(_ identity: Identity) async throws -> Response {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: context.recordingsDirectory)) ?? []
        var list: [[String: Any]] = []
        for name in names.sorted().reversed() where !name.hasPrefix(".") {
            let folder = (context.recordingsDirectory as NSString).appendingPathComponent(name)
            guard let meta = meta(folder), mayRead(meta, identity) else { continue }
            var entry = meta
            entry["sealed"] = FileManager.default.fileExists(atPath: (folder as NSString).appendingPathComponent(RecordingSeal.fileName))
            list.append(entry)
        }
        return JSONResponse.raw(try JSONSerialization.data(withJSONObject: list, options: [.sortedKeys]))
    }

    func showRecording(_ id: String, _ identity: Identity) async throws -> Response {
        let folder = try recordingFolder(id)
        let meta = meta(folder)
        guard mayRead(meta, identity) else { throw APIError(.notFound, "no recording \(id)") }
        var body: [String: Any] = ["id": id, "meta": meta ?? [:]]
        do {
            let report = try RecordingVerifier.verify(folder: folder)
            body["verified"] = true
            body["signed"] = report.signed
            body["files"] = report.files
        } catch {
            body["verified"] = false
            body["problem"] = error.description
            body["files"] = ((try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []).filter { !$0.hasPrefix(".") }.sorted()
        }
        return JSONResponse.raw(try JSONSerialization.data(withJSONObject: body, options: [.sortedKeys]))
    }

    func recordingFile(_ id: String, _ name: String, _ identity: Identity) async throws -> Response {
        let folder = try recordingFolder(id)
        guard mayRead(meta(folder), identity) else { throw APIError(.notFound, "no recording \(id)") }
        guard !name.contains("/"), !name.hasPrefix("."),
              let data = FileManager.default.contents(atPath: (folder as NSString).appendingPathComponent(name)) else {
            throw APIError(.notFound, "no file \(name) in recording \(id)")
        }
        let type = name.hasSuffix(".json") ? "application/json" : name.hasSuffix(".jsonl") ? "application/x-ndjson" : "application/octet-stream"
        return JSONResponse.raw(data, contentType: type)
    }
}

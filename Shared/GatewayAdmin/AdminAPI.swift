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
    //
    // A recording is served from this instance's folder when it has one, else from the state
    // store's copy (PostgreSQL), whichever instance recorded it.

    func validRecordingID(_ id: String) throws -> String {
        guard !id.isEmpty, !id.contains("/"), !id.hasPrefix(".") else { throw APIError(.badRequest, "bad recording id") }
        return id
    }

    /// This instance's folder for the recording, when there is one.
    func localFolder(_ id: String) throws -> String? {
        let folder = (context.recordingsDirectory as NSString).appendingPathComponent(try validRecordingID(id))
        return FileManager.default.fileExists(atPath: folder) ? folder : nil
    }

    /// The store's copy, when the store keeps recordings and has this one.
    func storedCopy(_ id: String) async throws -> StoredRecording? {
        guard let archive = context.archive else { return nil }
        do {
            return try await archive.storedRecording(id: try validRecordingID(id))
        } catch let error as APIError {
            throw error
        } catch {
            throw APIError(.serviceUnavailable, "the state store holding the recordings is unreachable")
        }
    }

    func meta(_ folder: String) -> [String: Any]? {
        guard let data = FileManager.default.contents(atPath: (folder as NSString).appendingPathComponent("meta.json")) else { return nil }
        return Self.meta(data)
    }

    static func meta(_ data: Data) -> [String: Any]? {
        try? JSONSerialization.jsonObject(with: data) as? [String: Any]
    }

    func mayRead(_ meta: [String: Any]?, _ identity: Identity) -> Bool {
        if isAdmin(identity) { return true }
        let owner = (meta?["identity"] as? [String: Any])?["sub"] as? String
        return owner == identity.subject
    }

    func listRecordings(_ identity: Identity) async throws -> Response {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: context.recordingsDirectory)) ?? []
        var list: [[String: Any]] = []
        var local = Set<String>()
        for name in names.sorted().reversed() where !name.hasPrefix(".") {
            let folder = (context.recordingsDirectory as NSString).appendingPathComponent(name)
            guard let meta = meta(folder) else { continue }
            local.insert(name)
            guard mayRead(meta, identity) else { continue }
            var entry = meta
            entry["sealed"] = FileManager.default.fileExists(atPath: (folder as NSString).appendingPathComponent(RecordingSeal.fileName))
            entry["location"] = "local"
            if context.archive != nil {
                entry["stored"] = FileManager.default.fileExists(atPath: (folder as NSString).appendingPathComponent(StoredRecording.markerName))
            }
            list.append(entry)
        }
        if let archive = context.archive {
            // The other instances' recordings. A store that does not answer leaves the list
            // to this instance's own (`/readyz` says the store is away).
            for stored in (try? await archive.storedRecordings(limit: 10_000)) ?? [] where !local.contains(stored.sessionID) {
                guard var entry = Self.meta(stored.meta), mayRead(entry, identity) else { continue }
                entry["sealed"] = true
                entry["stored"] = true
                entry["location"] = "store"
                entry["recorded_by"] = stored.instance
                list.append(entry)
            }
            list.sort { ($0["start"] as? String ?? "", $0["session_id"] as? String ?? "") > ($1["start"] as? String ?? "", $1["session_id"] as? String ?? "") }
        }
        return JSONResponse.raw(try JSONSerialization.data(withJSONObject: list, options: [.sortedKeys]))
    }

    /// One copy's verification, as the response lists it.
    static func copyReport(_ location: String, _ result: Result<RecordingVerifier.Report, RecordingVerifier.Problem>) -> [String: Any] {
        switch result {
        case .success(let report):
            var copy: [String: Any] = ["location": location, "verified": true, "signed": report.signed, "files": report.files]
            // The signer, so that a caller can pin keys of its own (`verify --public-key`).
            if report.signed { copy["public_key"] = report.seal.publicKey }
            return copy
        case .failure(let problem):
            return ["location": location, "verified": false, "problem": problem.description]
        }
    }

    func showRecording(_ id: String, _ identity: Identity) async throws -> Response {
        let folder = try localFolder(id)
        var stored: StoredRecording?
        var storeUnchecked = false
        do {
            stored = try await storedCopy(id)
        } catch {
            // This instance's own copy is still checked and served.
            guard folder != nil else { throw error }
            storeUnchecked = true
        }
        guard let meta = folder.flatMap(meta) ?? stored.flatMap({ Self.meta($0.meta) }) ?? (folder != nil ? [:] : nil) else {
            throw APIError(.notFound, "no recording \(id)")
        }
        guard mayRead(meta, identity) else { throw APIError(.notFound, "no recording \(id)") }
        // Every copy there is is checked against its seal: the verdict is the worst of them.
        var copies: [[String: Any]] = []
        if let folder {
            var report = Self.copyReport("local", Result { () throws(RecordingVerifier.Problem) in try RecordingVerifier.verify(folder: folder, trusting: context.trustedRecordingKeys) })
            if report["files"] == nil {
                report["files"] = ((try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []).filter { !$0.hasPrefix(".") }.sorted()
            }
            copies.append(report)
        }
        if let stored, let archive = context.archive {
            do {
                var report = Self.copyReport("store", try await StoredRecordingCheck.verify(stored, in: archive, trusting: context.trustedRecordingKeys))
                report["recorded_by"] = stored.instance
                if report["files"] == nil { report["files"] = stored.fileNames + [RecordingSeal.fileName] }
                copies.append(report)
            } catch {
                throw APIError(.serviceUnavailable, "the state store holding the recordings is unreachable")
            }
        }
        if storeUnchecked {
            copies.append(["location": "store", "checked": false, "problem": "the state store is unreachable: its copy was not checked"])
        }
        let checked = copies.filter { $0["checked"] as? Bool != false }
        let failed = checked.first { $0["verified"] as? Bool != true }
        var body: [String: Any] = [
            "id": id, "meta": meta, "copies": copies,
            "verified": failed == nil,
            "signed": checked.allSatisfy { $0["signed"] as? Bool == true },
            "files": copies.first?["files"] ?? [],
        ]
        if let failed { body["problem"] = "\(failed["location"] as? String ?? "") copy: \(failed["problem"] as? String ?? "")" }
        return JSONResponse.raw(try JSONSerialization.data(withJSONObject: body, options: [.sortedKeys]))
    }

    func recordingFile(_ id: String, _ name: String, _ identity: Identity) async throws -> Response {
        guard !name.contains("/"), !name.hasPrefix(".") else { throw APIError(.notFound, "no file \(name) in recording \(id)") }
        let data: Data?
        if let folder = try localFolder(id) {
            guard mayRead(meta(folder), identity) else { throw APIError(.notFound, "no recording \(id)") }
            data = FileManager.default.contents(atPath: (folder as NSString).appendingPathComponent(name))
        } else if let stored = try await storedCopy(id), let archive = context.archive {
            guard mayRead(Self.meta(stored.meta), identity) else { throw APIError(.notFound, "no recording \(id)") }
            do {
                data = name == RecordingSeal.fileName ? stored.seal : try await archive.storedRecordingFile(stored, name: name)
            } catch {
                throw APIError(.serviceUnavailable, "the state store holding the recordings is unreachable")
            }
        } else {
            throw APIError(.notFound, "no recording \(id)")
        }
        guard let data else { throw APIError(.notFound, "no file \(name) in recording \(id)") }
        let type = name.hasSuffix(".json") ? "application/json" : name.hasSuffix(".jsonl") ? "application/x-ndjson" : "application/octet-stream"
        return JSONResponse.raw(data, contentType: type)
    }
}

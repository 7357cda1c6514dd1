import Foundation

/// One decision, tied to the identity that caused it. Stored in the state store.
public struct AuditEvent: Sendable, Codable, Hashable, Identifiable {
    /// connect, disconnect, deny, allow, block, hold, approve, reject, expire, cancel, mask, kill, error, ...
    public var action: String
    public var id: String
    public var time: Date
    public var service: String
    public var connection: String?
    public var sessionID: String?
    public var subject: String?
    public var email: String?
    public var groups: [String]
    public var command: String?
    public var rule: String?
    public var detail: String?
    public var clientAddress: String?

    public init(
        action: String, id: String = AuditEvent.newID(), time: Date = Date(), service: String,
        connection: String? = nil, sessionID: String? = nil, subject: String? = nil, email: String? = nil,
        groups: [String] = [], command: String? = nil, rule: String? = nil, detail: String? = nil, clientAddress: String? = nil
    ) {
        self.action = action
        self.id = id
        self.time = time
        self.service = service
        self.connection = connection
        self.sessionID = sessionID
        self.subject = subject
        self.email = email
        self.groups = groups
        self.command = command
        self.rule = rule
        self.detail = detail
        self.clientAddress = clientAddress
    }

    enum CodingKeys: String, CodingKey {
        case action, id, time, service, connection, sessionID = "session_id", subject = "sub", email, groups, command, rule, detail
        case clientAddress = "client_address"
    }
}

/// Filters for `GET /api/audit`.
public struct AuditQuery: Sendable, Hashable {
    public var since: Date?
    /// Matches the subject or the email.
    public var user: String?
    public var connection: String?
    public var sessionID: String?
    public var limit: Int

    public init(since: Date? = nil, user: String? = nil, connection: String? = nil, sessionID: String? = nil, limit: Int = 1000) {
        self.since = since
        self.user = user
        self.connection = connection
        self.sessionID = sessionID
        self.limit = limit
    }

    func matches(_ event: AuditEvent) -> Bool {
        if let since, event.time < since { return false }
        if let user, event.subject != user, event.email != user { return false }
        if let connection, event.connection != connection { return false }
        if let sessionID, event.sessionID != sessionID { return false }
        return true
    }
}

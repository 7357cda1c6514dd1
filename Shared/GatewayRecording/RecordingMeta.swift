import Foundation

/// `meta.json`: who, where, when. Written at the start, rewritten when the session ends.
public struct RecordingMeta: Sendable, Codable, Hashable {
    public struct User: Sendable, Codable, Hashable {
        public var sub: String
        public var email: String?
        public var groups: [String]

        public init(sub: String, email: String?, groups: [String]) {
            self.sub = sub
            self.email = email
            self.groups = groups
        }
    }

    public var sessionID: String
    public var service: String
    public var connection: String
    public var identity: User
    public var clientAddress: String?
    public var start: Date
    public var end: Date?
    /// active, ended, killed, error, recovered
    public var status: String
    public var recovered: Bool
    /// For terminal sessions: the exec command or "shell".
    public var command: String?

    public init(
        sessionID: String, service: String, connection: String, identity: User, clientAddress: String?,
        start: Date = Date(), end: Date? = nil, status: String = "active", recovered: Bool = false, command: String? = nil
    ) {
        self.sessionID = sessionID
        self.service = service
        self.connection = connection
        self.identity = identity
        self.clientAddress = clientAddress
        self.start = start
        self.end = end
        self.status = status
        self.recovered = recovered
        self.command = command
    }

    enum CodingKeys: String, CodingKey {
        case sessionID = "session_id", service, connection, identity, clientAddress = "client_address", start, end, status, recovered, command
    }
}

import Foundation

public enum SessionStatus: String, Sendable, Codable, Hashable {
    case active, ended, killed
}

/// A gateway session as every instance sees it in the state store.
public struct SessionRecord: Sendable, Codable, Hashable, Identifiable {
    public var id: String
    public var service: String
    public var connection: String
    public var user: Person
    public var clientAddress: String?
    public var startedAt: Date
    public var endedAt: Date?
    public var status: SessionStatus
    /// The gateway process holding the session (`host:pid`).
    public var instance: String
    /// Set by `POST /api/sessions/{id}/kill` on any instance; the holder polls it.
    public var killRequested: Bool
    public var recordingPath: String?

    public init(
        id: String, service: String, connection: String, user: Person, clientAddress: String? = nil,
        startedAt: Date = Date(), endedAt: Date? = nil, status: SessionStatus = .active, instance: String,
        killRequested: Bool = false, recordingPath: String? = nil
    ) {
        self.id = id
        self.service = service
        self.connection = connection
        self.user = user
        self.clientAddress = clientAddress
        self.startedAt = startedAt
        self.endedAt = endedAt
        self.status = status
        self.instance = instance
        self.killRequested = killRequested
        self.recordingPath = recordingPath
    }

    /// Time-ordered, unique session ids: `s-YYYYMMDDhhmmss-` and 8 hex digits.
    public static func newID(now: Date = Date()) -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "yyyyMMddHHmmss"
        return "s-\(formatter.string(from: now))-\(UUID().uuidString.replacingOccurrences(of: "-", with: "").prefix(8).lowercased())"
    }

    enum CodingKeys: String, CodingKey {
        case id, service, connection, user, clientAddress = "client_address", startedAt = "started_at", endedAt = "ended_at"
        case status, instance, killRequested = "kill_requested", recordingPath = "recording_path"
    }
}

import Foundation

public enum ReviewStatus: String, Sendable, Codable, Hashable, CaseIterable {
    case pending, approved, rejected, expired, cancelled

    public var isFinal: Bool { self != .pending }
}

/// A person's identity as stored with a review or a session (no token, no expiry).
public struct Person: Sendable, Codable, Hashable {
    public var subject: String
    public var email: String?
    public var groups: [String]

    public init(subject: String, email: String? = nil, groups: [String] = []) {
        self.subject = subject
        self.email = email
        self.groups = groups
    }

    public var displayName: String { email ?? subject }

    enum CodingKeys: String, CodingKey {
        case subject = "sub", email, groups
    }
}

/// One reviewer's vote.
public struct ReviewVote: Sendable, Codable, Hashable {
    public var reviewer: Person
    public var approved: Bool
    public var comment: String?
    public var time: Date

    public init(reviewer: Person, approved: Bool, comment: String?, time: Date) {
        self.reviewer = reviewer
        self.approved = approved
        self.comment = comment
        self.time = time
    }
}

/// A command held for approval.
public struct Review: Sendable, Codable, Hashable, Identifiable {
    public var id: String
    public var status: ReviewStatus
    public var createdAt: Date
    public var expiresAt: Date
    public var decidedAt: Date?
    public var service: String
    public var connection: String
    public var sessionID: String
    public var command: String
    public var rule: String
    public var requester: Person
    public var clientAddress: String?
    public var justification: String?
    public var reviewerGroups: [String]
    public var minApprovals: Int
    public var requireAllGroups: Bool
    /// nil for `grant: once`; the window's length in seconds for `grant: window`.
    public var grantWindow: Double?
    public var votes: [ReviewVote]
    /// When a `grant: once` approval was used by a request that was retried after its review
    /// (a held Kubernetes API request): stored, so that any instance sees it used.
    public var consumedAt: Date?
    /// Incremented on every change; updates are compare-and-set on it.
    public var version: Int

    public init(
        id: String = Review.newID(), status: ReviewStatus = .pending, createdAt: Date = Date(), expiresAt: Date,
        service: String, connection: String, sessionID: String, command: String, rule: String, requester: Person,
        clientAddress: String? = nil, justification: String? = nil, reviewerGroups: [String], minApprovals: Int = 1,
        requireAllGroups: Bool = false, grantWindow: Double? = nil, votes: [ReviewVote] = [], version: Int = 0
    ) {
        self.id = id
        self.status = status
        self.createdAt = createdAt
        self.expiresAt = expiresAt
        self.service = service
        self.connection = connection
        self.sessionID = sessionID
        self.command = command
        self.rule = rule
        self.requester = requester
        self.clientAddress = clientAddress
        self.justification = justification
        self.reviewerGroups = reviewerGroups
        self.minApprovals = minApprovals
        self.requireAllGroups = requireAllGroups
        self.grantWindow = grantWindow
        self.votes = votes
        self.version = version
    }

    /// Short, unambiguous ids people can type: `r-` and 10 hex digits.
    public static func newID() -> String {
        "r-" + UUID().uuidString.replacingOccurrences(of: "-", with: "").prefix(10).lowercased()
    }

    enum CodingKeys: String, CodingKey {
        case id, status, createdAt = "created_at", expiresAt = "expires_at", decidedAt = "decided_at", service, connection
        case sessionID = "session_id", command, rule, requester, clientAddress = "client_address", justification
        case reviewerGroups = "reviewer_groups", minApprovals = "min_approvals", requireAllGroups = "require_all_groups"
        case grantWindow = "grant_window_seconds", votes, version, consumedAt = "consumed_at"
    }
}

/// What an audit event records: every decision and session event, by one name each.
public enum AuditAction: String, Sendable, Hashable, CaseIterable, Codable {
    case connect
    case disconnect
    case allow
    case deny
    case block
    case hold
    case approve
    /// One reviewer's approval, before the review has all it needs.
    case approveVote = "approve_vote"
    case reject
    case cancel
    case expire
    case mask
    case kill
    case error
    case idleTimeout = "idle_timeout"
    case sftp
}

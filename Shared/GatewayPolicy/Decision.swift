/// What the policy engine says about a command.
public enum Decision: Sendable, Hashable {
    case allow
    /// The identity may not use this connection at all.
    case deny(reason: String)
    /// A guardrail matched; `statement` is the offending statement (for SQL) or the command.
    case block(rule: String, message: String, statement: String)
    /// An approval rule matched; the command waits for review.
    case hold(rule: ApprovalRule, statement: String)

    /// A bounded label for metrics and audit: allow, deny, block, hold.
    public var kind: String {
        switch self {
        case .allow: "allow"
        case .deny: "deny"
        case .block: "block"
        case .hold: "hold"
        }
    }
}

/// What a guarded connection does with a command no check can see through (dynamic SQL,
/// creating code that runs later, text the parser rejects; for shells, a command not known
/// until run time): the connection's `opaque:` setting.
public enum OpaqueHandling: String, Sendable, Hashable, CaseIterable {
    /// Held for review by the connection's reviewers (the default).
    case review
    /// Refused.
    case block
    /// Let through, as if it had been inspected: an explicit opt-out.
    case allow
}

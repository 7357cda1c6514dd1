/// The policy part of one connection: who may use it, what is blocked, what is held.
public struct ConnectionPolicy: Sendable, Hashable {
    public var connection: String
    public var allowGroups: [String]
    public var guardrails: [Guardrail]
    public var approvals: [ApprovalRule]
    public var opaque: OpaqueHandling
    /// Who reviews an opaque command under `opaque: review`: the reviewer groups of the
    /// connection's approval rules, or the configuration's admin groups when it has none.
    public var opaqueReviewers: [String]

    public init(
        connection: String, allowGroups: [String], guardrails: [Guardrail] = [], approvals: [ApprovalRule] = [],
        opaque: OpaqueHandling = .review, opaqueReviewers: [String]? = nil
    ) {
        self.connection = connection
        self.allowGroups = allowGroups
        self.guardrails = guardrails
        self.approvals = approvals
        self.opaque = opaque
        self.opaqueReviewers = opaqueReviewers ?? Self.reviewers(of: approvals)
    }

    /// A connection with guardrails or approval rules: the one where opaque commands and the
    /// session settings the parser depends on are checked. Without rules every command is
    /// allowed, inspected or not.
    public var isGuarded: Bool { !guardrails.isEmpty || !approvals.isEmpty }

    /// The reviewer groups of `approvals`, each once, in order.
    public static func reviewers(of approvals: [ApprovalRule]) -> [String] {
        var groups: [String] = []
        for group in approvals.flatMap(\.reviewerGroups) where !groups.contains(group) { groups.append(group) }
        return groups
    }

    /// The rule an opaque command is held under.
    public var opaqueRule: ApprovalRule {
        ApprovalRule(name: "opaque", reviewerGroups: opaqueReviewers, timeout: approvals.first?.timeout ?? 600)
    }
}

/// The policy part of one connection: who may use it, what is blocked, what is held.
public struct ConnectionPolicy: Sendable, Hashable {
    public var connection: String
    public var allowGroups: [String]
    public var guardrails: [Guardrail]
    public var approvals: [ApprovalRule]

    public init(connection: String, allowGroups: [String], guardrails: [Guardrail] = [], approvals: [ApprovalRule] = []) {
        self.connection = connection
        self.allowGroups = allowGroups
        self.guardrails = guardrails
        self.approvals = approvals
    }
}

/// Decides on access and commands. Pure: no I/O, no clock, safe to call from any task.
public struct PolicyEngine: Sendable {
    public init() {}

    /// May this identity open a session on this connection?
    public func authorize(_ identity: Identity, for policy: ConnectionPolicy) -> Decision {
        if identity.isMember(ofAny: policy.allowGroups) { return .allow }
        let groups = identity.groups.isEmpty ? "no groups" : "groups \(identity.groups.joined(separator: ", "))"
        return .deny(reason: "\(identity.displayName) (\(groups)) is not in allow_groups of connection \"\(policy.connection)\"")
    }

    /// Decide on one command. Access is checked first; then each statement (for SQL) or the
    /// whole command against guardrails (a block wins over everything), then approvals.
    public func decide(_ command: Command, by identity: Identity, on policy: ConnectionPolicy) -> Decision {
        decide(command, by: identity, on: policy, precheck: true)
    }

    /// `precheck: false` lexes and classifies every statement even where the pre-check
    /// (`noRuleCanMatch`) would answer: tests hold the two paths to the same answers.
    func decide(_ command: Command, by identity: Identity, on policy: ConnectionPolicy, precheck: Bool) -> Decision {
        let access = authorize(identity, for: policy)
        guard case .allow = access else { return access }

        let units: [(text: String, kinds: Set<StatementKind>)]
        switch command.kind {
        case .sql:
            if precheck, Self.noRuleCanMatch(sql: command.text, policy: policy) { return .allow }
            units = SQLSplitter.split(command.text).map { ($0.normalizedText, StatementClassifier.classify($0)) }
        case .shell, .exec:
            units = [(command.text, [])]
        }
        return decide(units, policy: policy)
    }

    private func decide(_ units: [(text: String, kinds: Set<StatementKind>)], policy: ConnectionPolicy) -> Decision {
        for unit in units {
            for rule in policy.guardrails where Self.matches(pattern: rule.pattern, statement: rule.statement, text: unit.text, kinds: unit.kinds) {
                return .block(rule: rule.name, message: rule.effectiveMessage, statement: unit.text)
            }
        }
        for unit in units {
            for rule in policy.approvals where Self.matches(pattern: rule.pattern, statement: rule.statement, text: unit.text, kinds: unit.kinds) {
                return .hold(rule: rule, statement: unit.text)
            }
        }
        return .allow
    }

    /// Does a command fall under an approval rule? Used to honour `grant: window` approvals.
    public func matches(_ rule: ApprovalRule, command: Command) -> Bool {
        switch command.kind {
        case .sql:
            return SQLSplitter.split(command.text).allSatisfy {
                Self.matches(pattern: rule.pattern, statement: rule.statement, text: $0.normalizedText, kinds: StatementClassifier.classify($0))
            }
        case .shell, .exec:
            return Self.matches(pattern: rule.pattern, statement: rule.statement, text: command.text, kinds: [])
        }
    }

    /// The cheap first look at SQL, before lexing: true when no guardrail or approval rule of
    /// the policy can match any statement in `sql`, because each rule needs a literal (its
    /// pattern's) or a keyword (its statement kind's) that the text does not contain.
    /// Conservative: text with non-ASCII bytes or a backslash (escapes the lexer decodes)
    /// always takes the full path.
    static func noRuleCanMatch(sql: String, policy: ConnectionPolicy) -> Bool {
        if policy.guardrails.isEmpty && policy.approvals.isEmpty { return true }
        var text = sql
        return text.withUTF8 { bytes in
            guard !bytes.contains(where: { $0 >= 0x80 || $0 == UInt8(ascii: "\\") }) else { return false }
            func excluded(pattern: PatternMatcher?, statement: StatementKind?) -> Bool {
                if pattern == nil && statement == nil { return true }
                if let pattern, pattern.cannotMatch(ascii: bytes) { return true }
                if let statement, !statement.keywords.contains(where: { ASCIISearch.contains($0, in: bytes) }) { return true }
                return false
            }
            return policy.guardrails.allSatisfy { excluded(pattern: $0.pattern, statement: $0.statement) }
                && policy.approvals.allSatisfy { excluded(pattern: $0.pattern, statement: $0.statement) }
        }
    }

    static func matches(pattern: PatternMatcher?, statement: StatementKind?, text: String, kinds: Set<StatementKind>) -> Bool {
        if pattern == nil && statement == nil { return false }
        if let pattern, !pattern.matches(text) { return false }
        if let statement, !kinds.contains(statement) { return false }
        return true
    }
}

/// Decides on access and commands. Pure: no I/O, no clock, safe to call from any task.
public struct PolicyEngine: Sendable {
    public init() {}

    /// May this identity open a session on this connection?
    public func authorize(_ identity: Identity, for policy: ConnectionPolicy) -> Decision {
        if identity.isMember(ofAny: policy.allowGroups) { return .allow }
        let groups = identity.groups.isEmpty ? "no groups" : "groups \(identity.groups.joined(separator: ", "))"
        return .deny(reason: "\(identity.displayName) (\(groups)) is not in allow_groups of connection \"\(policy.connection)\"")
    }

    /// Decide on one command outside any session (an EXECUTE of a prepared statement is then
    /// opaque: no PREPARE was seen).
    public func decide(_ command: Command, by identity: Identity, on policy: ConnectionPolicy) -> Decision {
        var session = SQLSession()
        return decide(command, by: identity, on: policy, session: &session, precheck: true)
    }

    /// Decide on one command of a session. Access is checked first; then each statement
    /// (for SQL) or the whole command against guardrails (a block wins over everything), the
    /// session settings the parser depends on, the opaque setting, and approvals. What the
    /// command PREPAREs is kept in `session`.
    public func decide(_ command: Command, by identity: Identity, on policy: ConnectionPolicy, session: inout SQLSession) -> Decision {
        decide(command, by: identity, on: policy, session: &session, precheck: true)
    }

    struct Unit {
        var text: String
        var findings: SQLFindings
        /// For a command line: the programs it runs, and what is not known until it runs.
        var shell: ShellFindings? = nil
    }

    /// `precheck: false` parses and classifies every statement even where the pre-check
    /// (`noRuleCanMatch`) would answer: tests hold the two paths to the same answers.
    func decide(_ command: Command, by identity: Identity, on policy: ConnectionPolicy, session: inout SQLSession, precheck: Bool) -> Decision {
        let access = authorize(identity, for: policy)
        guard case .allow = access else { return access }
        if let request = command.request { return decide(request, policy: policy) }
        return decide(units(of: command, policy: policy, session: &session, precheck: precheck), policy: policy)
    }

    /// An API request against the rules that name API requests (the others are for commands):
    /// a guardrail blocks, then an approval rule holds.
    private func decide(_ request: APIRequest, policy: ConnectionPolicy) -> Decision {
        if let rule = policy.guardrails.first(where: { $0.api?.matches(request) == true }) {
            return .block(rule: rule.name, message: rule.effectiveMessage, statement: request.summary)
        }
        if let rule = policy.approvals.first(where: { $0.api?.matches(request) == true }) {
            return .hold(rule: rule, statement: request.summary)
        }
        return .allow
    }

    private func units(of command: Command, policy: ConnectionPolicy, session: inout SQLSession, precheck: Bool) -> [Unit] {
        switch command.kind {
        case .sql:
            if !policy.isGuarded || (precheck && Self.noRuleCanMatch(sql: command.text, policy: policy)) { return [] }
            let statements = SQLAnalyzer.analyze(command.text, session: session)
            for statement in statements {
                for prepared in statement.prepares { session.prepare(prepared.name, prepared.findings) }
            }
            let patterns = Self.hasPatterns(policy)
            return statements.map { Unit(text: patterns ? SQLSplitter.normalized($0.text) : $0.text, findings: $0.findings) }
        case .shell, .line, .exec:
            return [Self.shellUnit(of: command)]
        case .api:
            return []
        }
    }

    /// A command line as one unit: patterns see the line as typed and each program with its
    /// arguments, quotes removed (`r''m -rf` is `rm -rf`); command rules see the programs.
    static func shellUnit(of command: Command) -> Unit {
        var findings = SQLFindings()
        let shell = shellFindings(of: command)
        findings.innerStatements = shell.invocations.map(\.normalizedText)
        findings.opaque = shell.opaque
        return Unit(text: command.text, findings: findings, shell: shell)
    }

    static func shellFindings(of command: Command) -> ShellFindings {
        switch command.kind {
        case .line:
            return ShellAnalyzer.analyze(command.text, context: .terminal)
        case .exec:
            guard let argv = command.argv else { return ShellAnalyzer.analyze(command.text, context: .data) }
            var findings = ShellFindings()
            ShellAnalyzer.resolve(
                argv.map { ShellWord(text: $0) }[...], command: ShellSimpleCommand(words: []), context: .data, depth: 0,
                runtimeArguments: false, into: &findings
            )
            return findings
        default:
            return ShellAnalyzer.analyze(command.text, context: .data)
        }
    }

    private func decide(_ units: [Unit], policy: ConnectionPolicy) -> Decision {
        for unit in units {
            for rule in policy.guardrails where rule.api == nil && Self.matches(pattern: rule.pattern, statement: rule.statement, command: rule.command, unit: unit) == .yes {
                return .block(rule: rule.name, message: rule.effectiveMessage, statement: unit.text)
            }
        }
        guard policy.isGuarded else { return .allow }
        // A rule's program with options that are not known until it runs: opaque.
        var units = units
        for index in units.indices {
            for rule in policy.guardrails.map(\.command) + policy.approvals.map(\.command) {
                guard let rule, let shell = units[index].shell else { continue }
                for invocation in shell.invocations where rule.match(invocation) == .unknown {
                    units[index].findings.opaque.append("the options given to \(invocation.name) are not known until it runs")
                }
            }
        }
        for unit in units {
            if let reason = unit.findings.unsafeSettings.first {
                return .block(rule: "session-integrity", message: "blocked: \(reason)", statement: unit.text)
            }
            if policy.opaque == .block, let reason = unit.findings.opaque.first {
                return .block(rule: "opaque", message: "blocked: the gateway cannot inspect this statement: \(reason)", statement: unit.text)
            }
        }
        for unit in units {
            for rule in policy.approvals where rule.api == nil && Self.matches(pattern: rule.pattern, statement: rule.statement, command: rule.command, unit: unit) == .yes {
                return .hold(rule: rule, statement: unit.text)
            }
        }
        if policy.opaque == .review, let unit = units.first(where: { !$0.findings.opaque.isEmpty }) {
            guard !policy.opaqueReviewers.isEmpty else {
                return .block(rule: "opaque", message: "blocked: the gateway cannot inspect this statement (\(unit.findings.opaque[0])), and the connection has no reviewers to hold it for", statement: unit.text)
            }
            return .hold(rule: policy.opaqueRule, statement: unit.text)
        }
        return .allow
    }

    /// Why the first opaque statement of `command` cannot be inspected, for a review's
    /// justification and the client's message; nil when every statement can be.
    public func opaqueReason(of command: Command, session: SQLSession) -> String? {
        guard command.kind == .sql else { return nil }
        return SQLAnalyzer.analyze(command.text, session: session).lazy.compactMap(\.findings.opaque.first).first
    }

    /// Does a command fall under an approval rule? Used to honour `grant: window` approvals.
    public func matches(_ rule: ApprovalRule, command: Command) -> Bool {
        if let request = command.request { return rule.api?.matches(request) == true }
        guard rule.api == nil else { return false }
        switch command.kind {
        case .sql:
            let statements = SQLAnalyzer.analyze(command.text)
            return !statements.isEmpty && statements.allSatisfy {
                Self.matches(pattern: rule.pattern, statement: rule.statement, command: nil, unit: Unit(text: SQLSplitter.normalized($0.text), findings: $0.findings)) == .yes
            }
        case .shell, .line, .exec:
            return Self.matches(pattern: rule.pattern, statement: rule.statement, command: rule.command, unit: Self.shellUnit(of: command)) == .yes
        case .api:
            return false
        }
    }

    static func hasPatterns(_ policy: ConnectionPolicy) -> Bool {
        policy.guardrails.contains { $0.pattern != nil } || policy.approvals.contains { $0.pattern != nil }
    }

    /// The cheap first look at SQL, before parsing: true when no guardrail, approval rule,
    /// opaque construct or refused setting can apply to any statement in `sql`, because each
    /// needs a word (`SQLAnalyzer.analysisWords`, or a pattern's literal) the text does not
    /// contain. Conservative: text with non-ASCII bytes or a backslash always takes the full
    /// path.
    static func noRuleCanMatch(sql: String, policy: ConnectionPolicy) -> Bool {
        if !policy.isGuarded { return true }
        var text = sql
        return text.withUTF8 { bytes in
            guard !bytes.contains(where: { $0 >= 0x80 || $0 == UInt8(ascii: "\\") }) else { return false }
            if SQLAnalyzer.mentionsAnalysisWord(bytes) { return false }
            // No statement kind can be found; a rule can still match by its pattern alone.
            func excluded(pattern: PatternMatcher?, statement: StatementKind?) -> Bool {
                if statement != nil { return true }
                guard let pattern else { return true }
                return pattern.cannotMatch(ascii: bytes)
            }
            return policy.guardrails.allSatisfy { excluded(pattern: $0.pattern, statement: $0.statement) }
                && policy.approvals.allSatisfy { excluded(pattern: $0.pattern, statement: $0.statement) }
        }
    }

    /// A statement matches a rule's pattern when its text or the text of a statement inside
    /// it does, and its kind when it is (or holds a statement) of that kind; a command line
    /// matches a pattern when the line or one of its programs with its arguments does, and a
    /// command rule when one of its programs is the rule's with the rule's flags.
    static func matches(pattern: PatternMatcher?, statement: StatementKind?, command: CommandMatcher?, unit: Unit) -> CommandMatcher.Match {
        if pattern == nil && statement == nil && command == nil { return .no }
        if let statement, !unit.findings.kinds.contains(statement) { return .no }
        if let command {
            let matches = unit.shell?.invocations.map(command.match) ?? []
            guard matches.contains(.yes) else { return .no }
        }
        guard let pattern else { return .yes }
        if pattern.matches(unit.text) { return .yes }
        let normalize = unit.shell == nil
        return unit.findings.innerStatements.contains { pattern.matches(normalize ? SQLSplitter.normalized($0) : $0) } ? .yes : .no
    }
}

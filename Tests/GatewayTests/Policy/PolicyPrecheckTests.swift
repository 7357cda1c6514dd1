@testable import GatewayPolicy
import Testing

/// The pre-check (`PolicyEngine.noRuleCanMatch`) answers most statements without lexing.
/// It may only ever say "no rule can match" where the full decision agrees.
@Suite("Policy pre-check before lexing")
struct PolicyPrecheckTests {
    let agent = Identity(subject: "agent-1", groups: ["agents"], issuer: "https://idp", expiresAt: .distantFuture)
    let engine = PolicyEngine()

    /// One policy per statement kind (as a guardrail and as an approval rule), plus patterns.
    static func policies() throws -> [ConnectionPolicy] {
        var policies = StatementKind.allCases.flatMap { kind in
            [
                ConnectionPolicy(connection: "c", allowGroups: ["agents"], guardrails: [Guardrail(name: kind.rawValue, statement: kind)]),
                ConnectionPolicy(connection: "c", allowGroups: ["agents"], approvals: [
                    ApprovalRule(name: kind.rawValue, statement: kind, reviewerGroups: ["dba"], timeout: 60),
                ]),
            ]
        }
        policies.append(ConnectionPolicy(connection: "c", allowGroups: ["agents"], guardrails: [
            Guardrail(name: "no-drop", pattern: try PatternMatcher(#"(?i)\bdrop\s+(table|schema|database)\b"#)),
            Guardrail(name: "no-unbounded-delete", statement: .deleteWithoutWhere),
        ]))
        policies.append(ConnectionPolicy(connection: "c", allowGroups: ["agents"], guardrails: [
            Guardrail(name: "both", pattern: try PatternMatcher(#"pgbench_\w+"#), statement: .updateWithoutWhere),
        ], approvals: [
            ApprovalRule(name: "writes", pattern: try PatternMatcher(#"(?i)^\s*(update|delete|insert)\b"#), reviewerGroups: ["dba"], timeout: 60),
        ]))
        policies.append(ConnectionPolicy(connection: "c", allowGroups: ["agents"], guardrails: [
            Guardrail(name: "case-sensitive", pattern: try PatternMatcher(#"DROP\s+TABLE"#)),
        ]))
        return policies
    }

    static let pieces = [
        "DELETE", "delete", "DeLeTe", " FROM t", " ", "\n", " WHERE x", ";", "/* c */", "-- c\n", "/* reason: r */",
        "DO $$ BEGIN EXECUTE 'DROP TABLE t'; END $$", "DO 'BEGIN EXECUTE ''TRUNCATE t''; END'", "'", "''", "$$", "$t$",
        "E'\\x44ROP TABLE t'", "dr", "op", "DR/**/OP", "UPDATE t", " SET a = 1", "COPY t TO PROGRAM 'x'", "ALTER SYSTEM SET x = 1",
        "ALTER DEFAULT PRIVILEGES GRANT SELECT ON TABLES TO x", "GRANT", "REVOKE", "TRUNCATE t", "CREATE TABLE x (a int)",
        "COMMENT ON TABLE t IS 'x'", "SECURITY LABEL", "IMPORT FOREIGN SCHEMA", "REINDEX", "é", "ſ", "\u{212A}", "\"drop\"",
        "(", ")", "EXPLAIN ANALYZE ", "PREPARE p AS ", "table", "SELECT abalance FROM pgbench_accounts WHERE aid = 42",
        "U&'d\\0072op'", "DROP TABLE t", "drop schema s", "ALTER TABLE t DROP COLUMN c",
    ]

    @Test func neverChangesADecision() throws {
        let policies = try Self.policies()
        var texts = SQLAnalyzerTests.cases.map(\.sql)
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<1500 {
            texts.append((0..<Int.random(in: 1..<7, using: &generator)).map { _ in Self.pieces.randomElement(using: &generator)! }.joined())
        }
        var prechecked = 0
        for policy in policies {
            for text in texts {
                let fast = engine.decide(.sql(text), by: agent, on: policy)
                var session = SQLSession()
                let full = engine.decide(.sql(text), by: agent, on: policy, session: &session, precheck: false)
                #expect(fast == full, "\(policy.guardrails.map(\.name) + policy.approvals.map(\.name)) on \(text.debugDescription)")
                if PolicyEngine.noRuleCanMatch(sql: text, policy: policy) { prechecked += 1 }
            }
        }
        // The pre-check must also do its job: many of these texts lack every analysis word.
        #expect(prechecked > texts.count * policies.count / 20)
    }

    @Test func answersWithoutLexingOnlyWhereSafe() throws {
        let policy = ConnectionPolicy(connection: "c", allowGroups: ["agents"], guardrails: [Guardrail(name: "d", statement: .drop)])
        #expect(PolicyEngine.noRuleCanMatch(sql: "SELECT abalance FROM pgbench_accounts WHERE aid = 42", policy: policy))
        #expect(!PolicyEngine.noRuleCanMatch(sql: "SELECT 1; DROP TABLE t", policy: policy))
        #expect(!PolicyEngine.noRuleCanMatch(sql: "SELECT 'dröp'", policy: policy), "non-ASCII text takes the full path")
        #expect(!PolicyEngine.noRuleCanMatch(sql: "DO E'BEGIN EXECUTE ''\\x44ROP TABLE t''; END'", policy: policy), "escapes take the full path")
        let unconditional = ConnectionPolicy(connection: "c", allowGroups: ["agents"], guardrails: [
            Guardrail(name: "any-alternation", pattern: try PatternMatcher(#"(?i)truncate|drop"#)),
        ])
        #expect(!PolicyEngine.noRuleCanMatch(sql: "SELECT 1", policy: unconditional), "a pattern without a required literal always runs")
    }
}

import Foundation
import GatewayPolicy
import Testing

@Suite("Policy engine")
struct PolicyEngineTests {
    let agent = Identity(subject: "agent-1", email: "agent@example.com", groups: ["agents"], issuer: "https://idp", expiresAt: .distantFuture)
    let outsider = Identity(subject: "eve", groups: ["contractors"], issuer: "https://idp", expiresAt: .distantFuture)
    let engine = PolicyEngine()

    func postgresPolicy() throws -> ConnectionPolicy {
        ConnectionPolicy(
            connection: "orders", allowGroups: ["engineers", "agents"],
            guardrails: [
                Guardrail(name: "no-drop", pattern: try PatternMatcher(#"(?i)\bdrop\s+(table|schema|database)\b"#), message: "DROP is not allowed here"),
                Guardrail(name: "no-unbounded-delete", statement: .deleteWithoutWhere),
                Guardrail(name: "no-copy-program", statement: .copyProgram),
            ],
            approvals: [
                ApprovalRule(name: "writes", pattern: try PatternMatcher(#"(?i)^\s*(update|delete|insert)\b"#), reviewerGroups: ["dba"], timeout: 600),
            ]
        )
    }

    @Test func accessByGroup() throws {
        let policy = try postgresPolicy()
        #expect(engine.authorize(agent, for: policy) == .allow)
        guard case .deny(let reason) = engine.authorize(outsider, for: policy) else {
            Issue.record("outsider allowed")
            return
        }
        #expect(reason.contains("allow_groups"))
        #expect(engine.decide(.sql("SELECT 1"), by: outsider, on: policy).kind == "deny")
    }

    @Test func selectIsAllowed() throws {
        #expect(engine.decide(.sql("SELECT * FROM orders WHERE id = 1"), by: agent, on: try postgresPolicy()) == .allow)
    }

    @Test func dropBlockedByPattern() throws {
        let decision = engine.decide(.sql("SELECT 1; /* x */ DROP TABLE t"), by: agent, on: try postgresPolicy())
        guard case .block(let rule, let message, let statement) = decision else {
            Issue.record("not blocked: \(decision)")
            return
        }
        #expect(rule == "no-drop")
        #expect(message.contains("DROP is not allowed here"))
        #expect(statement == "DROP TABLE t")
    }

    @Test func commentCannotHideDrop() throws {
        let decision = engine.decide(.sql("DROP/**/TABLE t"), by: agent, on: try postgresPolicy())
        #expect(decision.kind == "block")
    }

    @Test func deleteWithoutWhereBlockedBeforeApproval() throws {
        let decision = engine.decide(.sql("DELETE FROM t"), by: agent, on: try postgresPolicy())
        guard case .block(let rule, _, _) = decision else {
            Issue.record("not blocked: \(decision)")
            return
        }
        #expect(rule == "no-unbounded-delete")
    }

    @Test func deleteWithWhereIsHeld() throws {
        let decision = engine.decide(.sql("/* reason: cleanup */ DELETE FROM t WHERE id = 1"), by: agent, on: try postgresPolicy())
        guard case .hold(let rule, _) = decision else {
            Issue.record("not held: \(decision)")
            return
        }
        #expect(rule.name == "writes")
    }

    @Test func blockWinsOverHoldAcrossStatements() throws {
        let decision = engine.decide(.sql("UPDATE t SET a = 1 WHERE id = 1; COPY t TO PROGRAM 'x'"), by: agent, on: try postgresPolicy())
        #expect(decision.kind == "block")
    }

    @Test func shellPatterns() throws {
        let policy = ConnectionPolicy(
            connection: "web-1", allowGroups: ["agents"],
            guardrails: [Guardrail(name: "no-rm-rf", pattern: try PatternMatcher(#"rm\s+-[a-z]*r[a-z]*f"#), message: "recursive force delete is blocked")],
            approvals: [ApprovalRule(name: "restarts", pattern: try PatternMatcher(#"systemctl\s+restart"#), reviewerGroups: ["ops"], grant: .window(seconds: 900))]
        )
        #expect(engine.decide(.shell("rm -rf /var/www"), by: agent, on: policy).kind == "block")
        #expect(engine.decide(.shell("rm -r old"), by: agent, on: policy) == .allow)
        #expect(engine.decide(.shell("sudo systemctl restart nginx"), by: agent, on: policy).kind == "hold")
        #expect(engine.decide(.exec(["ls", "-la"]), by: agent, on: policy) == .allow)
        #expect(engine.matches(policy.approvals[0], command: .shell("systemctl restart api")))
    }

    @Test func statementRuleWithPatternNeedsBoth() throws {
        let policy = ConnectionPolicy(
            connection: "orders", allowGroups: ["agents"],
            guardrails: [Guardrail(name: "no-ddl-on-orders", pattern: try PatternMatcher("(?i)orders"), statement: .ddl)]
        )
        #expect(engine.decide(.sql("CREATE INDEX i ON orders (a)"), by: agent, on: policy).kind == "block")
        #expect(engine.decide(.sql("CREATE INDEX i ON users (a)"), by: agent, on: policy) == .allow)
        #expect(engine.decide(.sql("SELECT * FROM orders"), by: agent, on: policy) == .allow)
    }

    @Test func invalidPatternIsAnError() {
        #expect(throws: PatternError.self) { try PatternMatcher("(unclosed") }
    }
}

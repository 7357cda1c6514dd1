/// A rule that blocks a command. The first matching guardrail blocks.
///
/// A rule names a `pattern`, a `statement` kind, or both; with both, both must hold.
public struct Guardrail: Sendable, Hashable {
    public var name: String
    public var pattern: PatternMatcher?
    public var statement: StatementKind?
    public var message: String?

    public init(name: String, pattern: PatternMatcher? = nil, statement: StatementKind? = nil, message: String? = nil) {
        self.name = name
        self.pattern = pattern
        self.statement = statement
        self.message = message
    }

    /// The message the client sees.
    public var effectiveMessage: String {
        if let message { return "blocked by guardrail \"\(name)\": \(message)" }
        if let statement { return "blocked by guardrail \"\(name)\": \(statement.rawValue) statements are not allowed" }
        return "blocked by guardrail \"\(name)\""
    }
}

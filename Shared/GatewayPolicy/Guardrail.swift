/// A rule that blocks a command. The first matching guardrail blocks.
///
/// A rule names a `pattern`, a `statement` kind (SQL) or a `command` with its flags (shells),
/// or a pattern with one of the others; with several, all must hold.
public struct Guardrail: Sendable, Hashable {
    public var name: String
    public var pattern: PatternMatcher?
    public var statement: StatementKind?
    public var command: CommandMatcher?
    /// Kubernetes API requests (`verbs`, `resources`, ...): a rule with one applies to API
    /// requests only.
    public var api: APIRequestMatcher?
    public var message: String?

    public init(
        name: String, pattern: PatternMatcher? = nil, statement: StatementKind? = nil, command: CommandMatcher? = nil,
        api: APIRequestMatcher? = nil, message: String? = nil
    ) {
        self.name = name
        self.pattern = pattern
        self.statement = statement
        self.command = command
        self.api = api
        self.message = message
    }

    /// The message the client sees.
    public var effectiveMessage: String {
        if let message { return "blocked by guardrail \"\(name)\": \(message)" }
        if let statement { return "blocked by guardrail \"\(name)\": \(statement.rawValue) statements are not allowed" }
        if let command {
            return "blocked by guardrail \"\(name)\": \(([command.command] + command.flags.map { "--" + $0 }).joined(separator: " ")) is not allowed"
        }
        if let api {
            let what = (api.verbs.isEmpty ? "requests" : api.verbs.joined(separator: ", ")) + (api.resources.isEmpty ? "" : " of " + api.resources.joined(separator: ", "))
            return "blocked by guardrail \"\(name)\": \(what) are not allowed"
        }
        return "blocked by guardrail \"\(name)\""
    }
}

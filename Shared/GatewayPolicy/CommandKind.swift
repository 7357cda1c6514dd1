/// What kind of command a gateway asks the policy about.
public enum CommandKind: String, Sendable, Codable, Hashable {
    /// One SQL query string as sent by a PostgreSQL client; may hold several statements.
    case sql
    /// An SSH exec request: a command line whose standard input is the client's data.
    case shell
    /// One line entered in an interactive shell: a shell it starts reads the lines the
    /// gateway goes on checking.
    case line
    /// A Kubernetes exec argv, evaluated joined by spaces.
    case exec
    /// A Kubernetes API request (not an exec): matched by rules with `verbs`/`resources`.
    case api
}

/// A command to decide on.
public struct Command: Sendable, Hashable {
    public var kind: CommandKind
    public var text: String
    /// For an exec, the program and its arguments as given (not re-split from `text`).
    public var argv: [String]?
    /// For an API request, what it is.
    public var request: APIRequest?

    public init(kind: CommandKind, text: String) {
        self.kind = kind
        self.text = text
    }

    public static func sql(_ text: String) -> Command { Command(kind: .sql, text: text) }
    public static func shell(_ text: String) -> Command { Command(kind: .shell, text: text) }
    public static func line(_ text: String) -> Command { Command(kind: .line, text: text) }
    public static func api(_ request: APIRequest) -> Command {
        var command = Command(kind: .api, text: request.summary)
        command.request = request
        return command
    }

    public static func exec(_ argv: [String]) -> Command {
        var command = Command(kind: .exec, text: argv.joined(separator: " "))
        command.argv = argv
        return command
    }
}

/// What kind of command a gateway asks the policy about.
public enum CommandKind: String, Sendable, Codable, Hashable {
    /// One SQL query string as sent by a PostgreSQL client; may hold several statements.
    case sql
    /// A command line: an SSH exec request or one line entered in a shell.
    case shell
    /// A Kubernetes exec argv, evaluated joined by spaces.
    case exec
}

/// A command to decide on.
public struct Command: Sendable, Hashable {
    public var kind: CommandKind
    public var text: String

    public init(kind: CommandKind, text: String) {
        self.kind = kind
        self.text = text
    }

    public static func sql(_ text: String) -> Command { Command(kind: .sql, text: text) }
    public static func shell(_ text: String) -> Command { Command(kind: .shell, text: text) }
    public static func exec(_ argv: [String]) -> Command { Command(kind: .exec, text: argv.joined(separator: " ")) }
}

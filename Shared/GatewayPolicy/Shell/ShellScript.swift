/// What a shell would run for a command line: every simple command, those inside command
/// substitutions, process substitutions and function bodies included.
public struct ShellScript: Sendable, Hashable {
    public var commands: [ShellSimpleCommand] = []
    /// Why part of the text cannot be read as the shell reads it (an unterminated quote,
    /// nesting deeper than the parser opens).
    public var problems: [String] = []

    public init(commands: [ShellSimpleCommand] = [], problems: [String] = []) {
        self.commands = commands
        self.problems = problems
    }
}

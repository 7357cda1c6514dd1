/// One word of a shell command after quote removal, as the shell would pass it to a program.
public struct ShellWord: Sendable, Hashable {
    /// The word's text: literal parts as the shell passes them, each expansion (`$x`,
    /// `$(...)`, `` `...` ``, `${...}`, `$((...))`) as it was written.
    public var text: String
    /// Whether the word's value is known before the command runs (no expansion in it).
    public var isLiteral: Bool
    /// Whether the word starts with literal text: an expansion later in it cannot make it
    /// an option (`/tmp/$x` cannot become `-rf`).
    public var startsLiteral: Bool

    public init(text: String, isLiteral: Bool = true, startsLiteral: Bool = true) {
        self.text = text
        self.isLiteral = isLiteral
        self.startsLiteral = startsLiteral
    }
}

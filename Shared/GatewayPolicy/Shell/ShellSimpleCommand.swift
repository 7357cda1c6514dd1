/// One simple command of a shell script: its words (assignments and redirections left out)
/// and where its standard input comes from when the script says.
public struct ShellSimpleCommand: Sendable, Hashable {
    public enum Input: Sendable, Hashable {
        /// Whatever the shell's own input is (the terminal, or an exec channel's data).
        case inherited
        /// The previous command of a pipeline.
        case pipe
        /// A here-document or here-string: its text, and whether it is known before it runs.
        case text(String, literal: Bool)
        /// A file or other redirection.
        case redirected
    }

    public var words: [ShellWord]
    public var input: Input

    public init(words: [ShellWord], input: Input = .inherited) {
        self.words = words
        self.input = input
    }
}

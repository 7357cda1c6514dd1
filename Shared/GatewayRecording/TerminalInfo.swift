/// What an asciicast header needs.
public struct TerminalInfo: Sendable, Hashable {
    public var width: Int
    public var height: Int
    public var command: String?
    public var term: String?

    public init(width: Int = 80, height: Int = 24, command: String? = nil, term: String? = nil) {
        self.width = width
        self.height = height
        self.command = command
        self.term = term
    }
}

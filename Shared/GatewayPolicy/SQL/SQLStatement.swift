/// One statement of a query string, as the server would see it.
public struct SQLStatement: Sendable, Hashable {
    /// The statement's original text, comments included, without the trailing `;`.
    public var text: String
    /// The statement with every comment replaced by one space and outer whitespace trimmed:
    /// what guardrail and approval patterns are evaluated against.
    public var normalizedText: String
    public var tokens: [SQLToken]
    /// A leading `/* reason: ... */` comment, used as a review's justification.
    public var reason: String?

    public init(text: String, normalizedText: String, tokens: [SQLToken], reason: String? = nil) {
        self.text = text
        self.normalizedText = normalizedText
        self.tokens = tokens
        self.reason = reason
    }
}

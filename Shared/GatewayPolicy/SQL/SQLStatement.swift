/// One statement of a query string, as the server's scanner splits it.
public struct SQLStatement: Sendable, Hashable {
    /// The statement's original text, comments included, without the trailing `;`, trimmed.
    public var text: String
    /// The statement with every comment replaced by one space and outer whitespace trimmed:
    /// what guardrail and approval patterns are evaluated against.
    public var normalizedText: String
    /// A leading `/* reason: ... */` comment, used as a review's justification.
    public var reason: String?

    public init(text: String, normalizedText: String, reason: String? = nil) {
        self.text = text
        self.normalizedText = normalizedText
        self.reason = reason
    }
}

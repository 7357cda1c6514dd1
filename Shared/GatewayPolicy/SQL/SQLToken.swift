/// One lexical token of a PostgreSQL statement. Comments and whitespace are not tokens.
public struct SQLToken: Sendable, Hashable {
    public enum Kind: Sendable, Hashable {
        /// An unquoted word: keyword or identifier. `value` is lowercased.
        case word
        /// A double-quoted identifier; `value` is its unescaped content.
        case quotedIdentifier
        /// A string constant ('...', E'...', B'...', X'...', U&'...', N'...'); `value` is the raw content.
        case string
        /// A dollar-quoted string; `value` is the body between the tags.
        case dollarString
        case number
        /// `$1`, `$2`, ...
        case parameter
        /// Any operator or punctuation; `value` is the text: `(`, `)`, `;`, `,`, `.`, `*`, `=`, ...
        case symbol
    }

    public var kind: Kind
    public var value: String
    /// Byte offsets into the original query text.
    public var range: Range<Int>

    public init(kind: Kind, value: String, range: Range<Int>) {
        self.kind = kind
        self.value = value
        self.range = range
    }

    public func isWord(_ word: String) -> Bool { kind == .word && value == word }
    public func isSymbol(_ symbol: String) -> Bool { kind == .symbol && value == symbol }
}

/// Splits a query string into the statements the server will run.
///
/// Every `;` outside quotes, dollar quotes and comments ends a statement, whatever the
/// parenthesis depth: that is conservative (the server rejects a `;` inside parentheses,
/// except in rule and `BEGIN ATOMIC` bodies, whose statements then get checked one by one).
public enum SQLSplitter {
    public static func split(_ query: String) -> [SQLStatement] {
        let bytes = Array(query.utf8)
        let pieces = SQLLexer(bytes).pieces()
        var statements: [SQLStatement] = []
        var current: [SQLLexer.Piece] = []

        func flush() {
            defer { current.removeAll(keepingCapacity: true) }
            let tokens = current.compactMap { piece -> SQLToken? in
                if case .token(let token) = piece { return token }
                return nil
            }
            guard !tokens.isEmpty else { return }
            let start = current.first.map(Self.range(of:))?.lowerBound ?? 0
            let end = current.last.map(Self.range(of:))?.upperBound ?? start
            let text = String(decoding: bytes[start..<end], as: UTF8.self)
            var normalized: [UInt8] = []
            normalized.reserveCapacity(end - start)
            var cursor = start
            var reason: String?
            for piece in current {
                if case .comment(let range) = piece {
                    normalized.append(contentsOf: bytes[cursor..<range.lowerBound])
                    normalized.append(0x20)
                    cursor = range.upperBound
                    if reason == nil, range.lowerBound < tokens[0].range.lowerBound {
                        reason = Self.reason(in: String(decoding: bytes[range], as: UTF8.self))
                    }
                }
            }
            normalized.append(contentsOf: bytes[cursor..<end])
            let normalizedText = String(decoding: normalized, as: UTF8.self).trimmingSQLWhitespace()
            statements.append(SQLStatement(text: text, normalizedText: normalizedText, tokens: tokens, reason: reason))
        }

        for piece in pieces {
            if case .token(let token) = piece, token.isSymbol(";") {
                flush()
            } else {
                current.append(piece)
            }
        }
        flush()
        return statements
    }

    private static func range(of piece: SQLLexer.Piece) -> Range<Int> {
        switch piece {
        case .token(let token): token.range
        case .comment(let range): range
        }
    }

    /// `/* reason: text */` → `text`.
    private static func reason(in comment: String) -> String? {
        guard comment.hasPrefix("/*") else { return nil }
        var body = comment.dropFirst(2)
        if body.hasSuffix("*/") { body = body.dropLast(2) }
        let trimmed = String(body).trimmingSQLWhitespace()
        guard trimmed.lowercased().hasPrefix("reason:") else { return nil }
        let value = String(trimmed.dropFirst("reason:".count)).trimmingSQLWhitespace()
        return value.isEmpty ? nil : value
    }
}

extension String {
    func trimmingSQLWhitespace() -> String {
        let scalars = unicodeScalars
        guard let first = scalars.firstIndex(where: { !$0.properties.isWhitespace }),
              let last = scalars.lastIndex(where: { !$0.properties.isWhitespace }) else { return "" }
        // Nothing to trim (the usual case): the same string, no copy.
        if first == scalars.startIndex, scalars.index(after: last) == scalars.endIndex { return self }
        return String(scalars[first...last])
    }
}

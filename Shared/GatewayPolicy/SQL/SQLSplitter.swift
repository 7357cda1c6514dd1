/// Splits a query string into the statements the server will run, with PostgreSQL's own
/// scanner: a `;` inside a string, quoted identifier, dollar quote or comment never ends a
/// statement. Text the scanner cannot read (an unterminated string) is one statement.
public enum SQLSplitter {
    public static func split(_ query: String) -> [SQLStatement] {
        let bytes = Array(query.utf8)
        let comments = (try? PgQuery.commentRanges(query).get()) ?? []
        return ranges(of: query, count: bytes.count).compactMap { range in
            statement(bytes, range, comments: comments)
        }
    }

    /// One statement's text with every comment replaced by one space, trimmed: what patterns
    /// are evaluated against.
    public static func normalized(_ statement: String) -> String {
        let bytes = Array(statement.utf8)
        let comments = (try? PgQuery.commentRanges(statement).get()) ?? []
        if comments.isEmpty { return statement.trimmingSQLWhitespace() }
        return Self.statement(bytes, 0..<bytes.count, comments: comments)?.normalizedText ?? ""
    }

    /// The byte ranges of the statements of `query` (of `count` bytes): where the parser
    /// puts them when it reads the whole text; otherwise between the `;` tokens of the
    /// scanner (every one, which can only split more finely than the server: a rule's or a
    /// BEGIN ATOMIC body's statements are then taken one by one); text the scanner cannot
    /// read either is one statement. Nothing of the text is ever left out.
    static func ranges(of query: String, count: Int) -> [Range<Int>] {
        if case .success(let tree) = PgQuery.parse(query) {
            return statementRanges(tree, count: count)
        }
        guard case .success(let tokens) = PgQuery.scan(query) else { return [0..<count] }
        var ranges: [Range<Int>] = []
        var start = 0
        for token in tokens where token.token == ScanResultReader.semicolon {
            ranges.append(start..<min(token.range.lowerBound, count))
            start = min(token.range.upperBound, count)
        }
        ranges.append(start..<count)
        return ranges
    }

    /// The statements' byte ranges in a parse tree (`stmt_location`, `stmt_len`; an absent
    /// location is 0, an absent length the rest of the text).
    static func statementRanges(_ tree: ParseTree, count: Int) -> [Range<Int>] {
        (tree["stmts"]?.elements ?? []).map { raw in
            let start = min(max(raw["stmt_location"]?.intValue ?? 0, 0), count)
            let length = raw["stmt_len"]?.intValue ?? 0
            return start..<(length > 0 ? min(start + length, count) : count)
        }
    }

    private static func statement(_ bytes: [UInt8], _ range: Range<Int>, comments: [Range<Int>]) -> SQLStatement? {
        var normalized: [UInt8] = []
        normalized.reserveCapacity(range.count)
        var cursor = range.lowerBound
        var reason: String?
        var sawText = false
        for comment in comments where comment.lowerBound >= range.lowerBound && comment.upperBound <= range.upperBound {
            let before = bytes[cursor..<comment.lowerBound]
            if before.contains(where: { !isWhitespace($0) }) { sawText = true }
            normalized.append(contentsOf: before)
            normalized.append(0x20)
            if !sawText, reason == nil { reason = Self.reason(in: String(decoding: bytes[comment], as: UTF8.self)) }
            cursor = comment.upperBound
        }
        normalized.append(contentsOf: bytes[cursor..<range.upperBound])
        let normalizedText = String(decoding: normalized, as: UTF8.self).trimmingSQLWhitespace()
        guard !normalizedText.isEmpty else { return nil }
        let text = String(decoding: bytes[range], as: UTF8.self).trimmingSQLWhitespace()
        return SQLStatement(text: text, normalizedText: normalizedText, reason: reason)
    }

    private static func isWhitespace(_ byte: UInt8) -> Bool {
        byte == 0x20 || byte == 0x09 || byte == 0x0A || byte == 0x0D || byte == 0x0C
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

/// One statement of a query string and what its parse tree says.
public struct AnalyzedStatement: Sendable, Hashable {
    public struct Prepared: Sendable, Hashable {
        public var name: String
        public var findings: SQLFindings
    }

    /// The statement's text, trimmed, without its `;`.
    public var text: String
    public var findings: SQLFindings
    /// What this statement PREPAREs by name: the session keeps it for later EXECUTEs.
    public var prepares: [Prepared]
}

/// Reads SQL with PostgreSQL's parser and says what each statement does.
public enum SQLAnalyzer {
    public static func analyze(_ sql: String, session: SQLSession = SQLSession()) -> [AnalyzedStatement] {
        analyze(sql, session: session, nesting: 0)
    }

    /// The findings of every statement in `sql`, together (for a body inside a statement).
    static func findings(of sql: String, session: SQLSession, nesting: Int) -> SQLFindings {
        analyze(sql, session: session, nesting: nesting).reduce(into: SQLFindings()) {
            $0.innerStatements.append($1.text)
            $0.formUnion($1.findings)
        }
    }

    static func analyze(_ sql: String, session: SQLSession, nesting: Int) -> [AnalyzedStatement] {
        let bytes = Array(sql.utf8)
        switch PgQuery.parse(sql) {
        case .success(let tree):
            // A statement sees what the ones before it in the string prepared.
            var session = session
            let ranges = SQLSplitter.statementRanges(tree, count: bytes.count)
            return zip(tree["stmts"]?.elements ?? [], ranges).map { raw, range in
                let text = String(decoding: bytes[range], as: UTF8.self)
                var classifier = ParseTreeClassifier(session: session, nesting: nesting)
                if let statement = raw["stmt"] { classifier.classify(statement, text: text) }
                for prepared in classifier.prepares { session.prepare(prepared.name, prepared.findings) }
                return AnalyzedStatement(
                    text: text.trimmingSQLWhitespace(), findings: classifier.findings,
                    prepares: classifier.prepares.map { AnalyzedStatement.Prepared(name: $0.name, findings: $0.findings) }
                )
            }
        case .failure:
            // One statement the grammar rejects fails the whole string: find which, by the
            // scanner's split, and analyse the others as they are.
            let ranges = SQLSplitter.ranges(of: sql, count: bytes.count)
            if ranges.count > 1 {
                var session = session
                return ranges.flatMap { range -> [AnalyzedStatement] in
                    let statements = analyze(String(decoding: bytes[range], as: UTF8.self), session: session, nesting: nesting)
                    for statement in statements { for prepared in statement.prepares { session.prepare(prepared.name, prepared.findings) } }
                    return statements
                }
            }
            let text = sql.trimmingSQLWhitespace()
            if text.isEmpty || SQLSplitter.normalized(text).isEmpty { return [] }
            return [AnalyzedStatement(text: text, findings: rejected(sql), prepares: [])]
        }
    }

    /// Text the parser rejects. It is opaque when it holds any word a decided construct
    /// needs; text with none of them holds no statement any check decides on, and the
    /// server, whose grammar this is, rejects it as well.
    static func rejected(_ sql: String) -> SQLFindings {
        var text = sql
        let relevant = text.withUTF8 { bytes in mentionsAnalysisWord(bytes) }
        guard relevant else { return SQLFindings() }
        var message = "the PostgreSQL parser cannot read it"
        if case .failure(let error) = PgQuery.parse(sql) { message += " (\(error.message))" }
        return SQLFindings(opaque: [message])
    }

    /// Every word (lowercase letters) at least one of which the text of any statement with a
    /// kind, an opaque construct or a setting the gateway refuses holds as a run of letters,
    /// written in ASCII without a backslash: statement verbs, the functions the analysis
    /// names (`backend` of pg_terminate_backend), and `uescape` (an identifier spelled with
    /// escapes of another character than the backslash).
    /// Whether `bytes` (ASCII) hold one of `analysisWords` as a run of letters, compared
    /// without case: a word of a statement is always a whole run of letters (a keyword
    /// between non-letters, a function name between underscores), so one pass over the runs
    /// answers for all of them.
    public static func mentionsAnalysisWord(_ bytes: UnsafeBufferPointer<UInt8>) -> Bool {
        var index = 0
        let count = bytes.count
        while index < count {
            guard ByteLetters.isLetter(bytes[index]) else { index += 1; continue }
            let start = index
            while index < count, ByteLetters.isLetter(bytes[index]) { index += 1 }
            let length = index - start
            guard length < wordsByLength.count else { continue }
            for word in wordsByLength[length] where word[0] == bytes[start] | 0x20 {
                var offset = 1
                while offset < length, word[offset] == bytes[start + offset] | 0x20 { offset += 1 }
                if offset == length { return true }
            }
        }
        return false
    }

    static let wordsByLength: [[[UInt8]]] = {
        let longest = analysisWords.map(\.count).max() ?? 0
        var table = [[[UInt8]]](repeating: [], count: longest + 1)
        for word in analysisWords { table[word.count].append(word) }
        return table
    }()

    public static let analysisWords: [[UInt8]] = [
        "insert", "update", "delete", "merge", "copy", "truncate",
        "create", "alter", "drop", "reindex", "comment", "security", "import", "refresh", "reassign",
        "grant", "revoke", "do", "execute", "prepare", "set", "dblink",
        // pg_terminate_backend, pg_cancel_backend (ASCIISearch compares letters and digits).
        "backend", "uescape",
    ].map { Array($0.utf8) }
}

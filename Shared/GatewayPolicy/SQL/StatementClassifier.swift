/// Finds the statement kinds in one statement by looking at its token shapes, wherever
/// they occur: a DELETE inside a CTE or a `PREPARE ... AS`, a DROP behind `EXPLAIN ANALYZE`,
/// and statements inside a `DO` block's body are all found.
public enum StatementClassifier {
    /// How deep `DO` bodies and their string literals are opened.
    static let maximumNesting = 3

    public static func classify(_ statement: SQLStatement) -> Set<StatementKind> {
        classify(tokens: statement.tokens, nesting: 0)
    }

    public static func classify(sql: String) -> Set<StatementKind> {
        SQLSplitter.split(sql).reduce(into: Set<StatementKind>()) { $0.formUnion(classify($1)) }
    }

    static func classify(tokens: [SQLToken], nesting: Int) -> Set<StatementKind> {
        var kinds = Set<StatementKind>()
        let depths = parenthesisDepths(tokens)

        for (index, token) in tokens.enumerated() where token.kind == .word {
            let next = index + 1 < tokens.count ? tokens[index + 1] : nil
            let previous = index > 0 ? tokens[index - 1] : nil
            switch token.value {
            case "drop":
                // DROP is only ever a DDL verb or an ALTER ... DROP clause.
                kinds.insert(.ddl)
                if startsStatement(at: index, in: tokens) || dropsColumn(next) { kinds.insert(.drop) }
            case "create", "alter", "reindex":
                if token.value == "alter", next?.isWord("system") == true {
                    kinds.insert(.alterSystem)
                }
                if token.value == "alter", next?.isWord("default") == true,
                   index + 2 < tokens.count, tokens[index + 2].isWord("privileges") {
                    kinds.insert(.grant)
                }
                if startsStatement(at: index, in: tokens) { kinds.insert(.ddl) }
            case "comment", "security", "import":
                if startsStatement(at: index, in: tokens),
                   next?.isWord("on") == true || next?.isWord("label") == true || next?.isWord("foreign") == true {
                    kinds.insert(.ddl)
                }
            case "truncate":
                if startsStatement(at: index, in: tokens) || previous?.isWord("on") == true {
                    // `ON TRUNCATE` in a trigger definition is a DDL event, not a truncate.
                    if previous?.isWord("on") != true { kinds.insert(.truncate) }
                }
            case "grant", "revoke":
                if startsStatement(at: index, in: tokens) || previous?.isWord("privileges") == true
                    || (previous.map { $0.kind == .word && isAlterDefaultPrivilegesTail(tokens, before: index) } ?? false) {
                    kinds.insert(.grant)
                }
            case "delete":
                if next?.isWord("from") == true,
                   !hasWhere(after: index, depth: depths[index], in: tokens, depths: depths) {
                    kinds.insert(.deleteWithoutWhere)
                }
            case "update":
                if let setIndex = updateSetClause(after: index, in: tokens),
                   !hasWhere(after: setIndex, depth: depths[index], in: tokens, depths: depths) {
                    kinds.insert(.updateWithoutWhere)
                }
            case "copy":
                if copiesToProgram(from: index, in: tokens, depths: depths) { kinds.insert(.copyProgram) }
            case "do":
                if nesting < maximumNesting, startsStatement(at: index, in: tokens) {
                    for body in tokens[(index + 1)...] where body.kind == .dollarString || body.kind == .string {
                        kinds.formUnion(classifyBody(body.value, nesting: nesting + 1))
                    }
                }
            case "execute":
                // Dynamic SQL inside a DO body: EXECUTE 'DROP TABLE t'
                if nesting > 0, let literal = next, literal.kind == .string || literal.kind == .dollarString {
                    kinds.formUnion(classifyBody(literal.value, nesting: nesting + 1))
                }
            default:
                break
            }
        }
        return kinds
    }

    private static func classifyBody(_ body: String, nesting: Int) -> Set<StatementKind> {
        guard nesting <= maximumNesting else { return [] }
        return SQLSplitter.split(body).reduce(into: Set<StatementKind>()) {
            $0.formUnion(classify(tokens: $1.tokens, nesting: nesting))
        }
    }

    /// Is the token at `index` where a statement verb may stand: the start, after `(`,
    /// after `AS` (CTE, PREPARE, CREATE RULE ... DO), after EXPLAIN and its options,
    /// or after a PL/pgSQL `BEGIN`/`THEN`/`LOOP`/`ELSE`?
    static func startsStatement(at index: Int, in tokens: [SQLToken]) -> Bool {
        var i = index - 1
        while i >= 0 {
            let t = tokens[i]
            if t.kind == .word, ["analyze", "analyse", "verbose"].contains(t.value) {
                i -= 1
                continue
            }
            break
        }
        if i < 0 { return true }
        let t = tokens[i]
        if t.isSymbol("(") { return true }
        if t.kind == .word, ["as", "explain", "begin", "then", "loop", "else", "do", "instead", "also", "atomic"].contains(t.value) {
            return true
        }
        if t.isSymbol(")") {
            // EXPLAIN (ANALYZE, ...) stmt
            var depth = 0
            var j = i
            while j >= 0 {
                if tokens[j].isSymbol(")") { depth += 1 }
                if tokens[j].isSymbol("(") {
                    depth -= 1
                    if depth == 0 { break }
                }
                j -= 1
            }
            return j > 0 && tokens[j - 1].isWord("explain")
        }
        return false
    }

    private static func isAlterDefaultPrivilegesTail(_ tokens: [SQLToken], before index: Int) -> Bool {
        tokens[..<index].contains { $0.isWord("privileges") } && tokens.first?.isWord("alter") == true
    }

    /// `ALTER TABLE t DROP [COLUMN] c`, not `DROP DEFAULT`, `DROP NOT NULL`, `DROP CONSTRAINT`...
    private static func dropsColumn(_ next: SQLToken?) -> Bool {
        guard let next else { return false }
        if next.kind == .quotedIdentifier { return true }
        guard next.kind == .word else { return false }
        return !["default", "not", "constraint", "identity", "expression", "owned", "attribute", "value", "mapping", "statistics"].contains(next.value)
    }

    static func parenthesisDepths(_ tokens: [SQLToken]) -> [Int] {
        var depth = 0
        return tokens.map { token in
            if token.isSymbol("(") {
                depth += 1
                return depth - 1
            }
            if token.isSymbol(")") {
                depth = max(0, depth - 1)
                return depth
            }
            return depth
        }
    }

    /// Is there a WHERE at `depth` after `start`, before the enclosing parenthesis closes?
    static func hasWhere(after start: Int, depth: Int, in tokens: [SQLToken], depths: [Int]) -> Bool {
        var i = start + 1
        while i < tokens.count {
            if depths[i] < depth { return false }
            if tokens[i].isSymbol(")"), depths[i] == depth - 1 { return false }
            if depths[i] == depth, tokens[i].isWord("where") { return true }
            i += 1
        }
        return false
    }

    /// `UPDATE [ONLY] name[.name...] [*] [[AS] alias] SET`: the index of SET, or nil when
    /// this UPDATE is not a statement (ON UPDATE, FOR UPDATE, GRANT UPDATE, UPDATE OF ...).
    static func updateSetClause(after index: Int, in tokens: [SQLToken]) -> Int? {
        var i = index + 1
        guard i < tokens.count else { return nil }
        if tokens[i].isWord("only") { i += 1 }
        guard i < tokens.count, tokens[i].kind == .word || tokens[i].kind == .quotedIdentifier,
              !tokens[i].isWord("of"), !tokens[i].isWord("set") || (i + 1 < tokens.count && tokens[i + 1].isWord("set")) else { return nil }
        i += 1
        while i + 1 < tokens.count, tokens[i].isSymbol("."), tokens[i + 1].kind == .word || tokens[i + 1].kind == .quotedIdentifier {
            i += 2
        }
        if i < tokens.count, tokens[i].isSymbol("*") { i += 1 }
        if i < tokens.count, tokens[i].isWord("as") { i += 1 }
        if i < tokens.count, !tokens[i].isWord("set"), tokens[i].kind == .word || tokens[i].kind == .quotedIdentifier { i += 1 }
        guard i < tokens.count, tokens[i].isWord("set") else { return nil }
        return i
    }

    /// COPY ... FROM|TO PROGRAM, at the COPY's own level.
    static func copiesToProgram(from index: Int, in tokens: [SQLToken], depths: [Int]) -> Bool {
        let depth = depths[index]
        var i = index + 1
        while i + 1 < tokens.count, depths[i] >= depth {
            if depths[i] == depth, tokens[i].isWord("from") || tokens[i].isWord("to"), tokens[i + 1].isWord("program") {
                return true
            }
            i += 1
        }
        return false
    }
}

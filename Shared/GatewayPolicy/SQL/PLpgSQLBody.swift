/// The SQL inside a PL/pgSQL body, as `pg_query_parse_plpgsql` gives it: every expression and
/// statement of the body is a `PLpgSQL_expr` whose `query` is SQL (or an expression read as
/// `SELECT expr`, or an assignment `x := expr`). Each is classified like any statement.
/// The query of a dynamic EXECUTE (and of `FOR ... IN EXECUTE`, `OPEN ... FOR EXECUTE`,
/// `RETURN QUERY EXECUTE`) is classified when it is a constant string (or constants joined
/// with `||`); otherwise what it runs is not known until run time, and it is opaque.
struct PLpgSQLBody {
    let session: SQLSession
    let nesting: Int
    private(set) var findings = SQLFindings()

    init(session: SQLSession, nesting: Int) {
        self.session = session
        self.nesting = nesting
    }

    /// A DO block's body as the CREATE FUNCTION statement the PL/pgSQL parser reads, quoted
    /// with a dollar tag the body does not contain.
    static func wrapping(doBody body: String) -> String? {
        for attempt in 0..<64 {
            let tag = "$gateway\(attempt)$"
            if !body.contains(tag) {
                return "CREATE FUNCTION pg_temp.gateway_do_block() RETURNS void LANGUAGE plpgsql AS \(tag)\(body)\(tag)"
            }
        }
        return nil
    }

    /// Where a statement's member holds SQL that is computed, not written.
    private static let dynamicQueries: [String: String] = [
        "PLpgSQL_stmt_dynexecute": "query",
        "PLpgSQL_stmt_dynfors": "query",
        "PLpgSQL_stmt_open": "dynquery",
        "PLpgSQL_stmt_return_query": "dynquery",
    ]

    mutating func classify(_ tree: ParseTree) {
        switch tree {
        case .object(let members):
            if let node = tree.node {
                if node.type == "PLpgSQL_expr" {
                    staticQuery(node.fields["query"]?.stringValue ?? "")
                    return
                }
                if let dynamicMember = Self.dynamicQueries[node.type], case .object(let fields) = node.fields {
                    for field in fields {
                        if field.key == dynamicMember {
                            dynamicQuery(field.value.node?.fields["query"]?.stringValue ?? "")
                        } else {
                            classify(field.value)
                        }
                    }
                    return
                }
                classify(node.fields)
            } else {
                for member in members { classify(member.value) }
            }
        case .array(let items):
            for item in items { classify(item) }
        default:
            break
        }
    }

    private mutating func staticQuery(_ query: String) {
        if case .success = PgQuery.parse(query) {
            merge(SQLAnalyzer.findings(of: query, session: session, nesting: nesting))
            return
        }
        if let tree = expression(query) {
            merge(tree)
            return
        }
        findings.opaque.append("a PL/pgSQL expression could not be parsed")
    }

    /// An expression or assignment, classified as the SELECT PL/pgSQL runs it as.
    private func expression(_ query: String) -> SQLFindings? {
        var candidates = ["SELECT " + query]
        if let assignment = query.firstRange(of: ":=") { candidates.append("SELECT " + query[assignment.upperBound...]) }
        for candidate in candidates {
            if case .success = PgQuery.parse(candidate) {
                return SQLAnalyzer.findings(of: candidate, session: session, nesting: nesting)
            }
        }
        return nil
    }

    private mutating func dynamicQuery(_ query: String) {
        guard case .success(let tree) = PgQuery.parse("SELECT " + query),
              let statement = tree["stmts"]?.elements.first?["stmt"]?.node,
              statement.type == "SelectStmt",
              let targets = statement.fields["targetList"]?.elements, targets.count == 1,
              statement.fields["fromClause"] == nil,
              let value = targets[0].node?.fields["val"],
              let text = Self.constantString(value)
        else {
            findings.opaque.append("it runs dynamic SQL (EXECUTE of a string computed at run time)")
            return
        }
        merge(SQLAnalyzer.findings(of: text, session: session, nesting: nesting))
    }

    /// A string constant, or constants joined with `||`.
    static func constantString(_ expression: ParseTree) -> String? {
        guard let node = expression.node else { return nil }
        switch node.type {
        case "A_Const":
            return node.fields["sval"]?["sval"]?.stringValue ?? (node.fields["sval"] != nil ? "" : nil)
        case "A_Expr":
            guard node.fields["kind"]?.stringValue == "AEXPR_OP",
                  node.fields["name"]?.elements.last?.node?.fields["sval"]?.stringValue == "||",
                  let left = node.fields["lexpr"].flatMap(constantString),
                  let right = node.fields["rexpr"].flatMap(constantString)
            else { return nil }
            return left + right
        case "TypeCast":
            return node.fields["arg"].flatMap(constantString)
        default:
            return nil
        }
    }

    private mutating func merge(_ other: SQLFindings) { findings.formUnion(other) }
}

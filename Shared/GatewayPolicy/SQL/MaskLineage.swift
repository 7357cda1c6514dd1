/// Which output columns of a statement are computed from a masked column, by the parse tree:
/// any function, cast, operator, aggregate, row or JSON constructor, subquery or CTE over a
/// masked column taints the output it reaches (`upper(email)`, `encode(convert_to(email,
/// 'UTF8'), 'base64')`, `reverse(email)`, `string_agg(email, ',')`, `(c).email`, `c::text`),
/// through aliases, CTE and subquery column names and set operations.
///
/// Names are followed, not catalogs: a column is masked by name wherever it comes from, and
/// an output named like a tainted one in a subquery is tainted wherever that name is used.
/// Conservative towards masking.
public enum MaskLineage {
    public struct Entry: Sendable, Hashable {
        public var tainted: Bool
        /// A `*` or `t.*` target: it stands for as many columns as the result gives it.
        public var isStar: Bool

        public init(tainted: Bool, isStar: Bool) {
            self.tainted = tainted
            self.isStar = isStar
        }
    }

    public enum Outputs: Sendable, Hashable {
        /// One entry per target of the result, in order.
        case entries([Entry])
        /// The result's columns cannot be traced (FETCH from a cursor, EXECUTE of a prepared
        /// statement, a call that runs SQL text, a statement the parser rejects): every
        /// computed column is to be masked.
        case unknown
        /// The statement returns no rows of its own targets.
        case none
    }

    /// Functions whose SQL comes as text: their results cannot be traced.
    static let sqlTextFunctions: Set<String> = [
        "query_to_xml", "query_to_xmlschema", "query_to_xml_and_xmlschema", "cursor_to_xml", "cursor_to_xmlschema",
        "table_to_xml", "table_to_xmlschema", "table_to_xml_and_xmlschema", "schema_to_xml", "schema_to_xml_and_xmlschema",
        "database_to_xml", "database_to_xml_and_xmlschema", "dblink", "dblink_fetch", "dblink_get_result",
    ]

    /// Functions that build JSON from a row: masked column names inside are keys, which the
    /// JSON key masker handles without masking the whole document.
    static let jsonConstructors: Set<String> = [
        "to_json", "to_jsonb", "row_to_json", "json_agg", "jsonb_agg", "json_build_object", "jsonb_build_object",
        "json_object_agg", "jsonb_object_agg", "array_to_json",
    ]

    /// What a session has defined whose results come later: the outputs of each cursor
    /// (`DECLARE c CURSOR FOR ...`, read by FETCH) and prepared statement (`PREPARE p AS
    /// ...`, run by EXECUTE), by name.
    public struct Definitions: Sendable, Hashable {
        public var cursors: [String: Outputs] = [:]
        public var prepared: [String: Outputs] = [:]
        public init() {}
    }

    /// The outputs of the first statement of `sql`; FETCH and EXECUTE take theirs from
    /// `definitions` (unknown when the name was not seen defined).
    public static func outputs(of sql: String, maskedColumns: Set<String>, definitions: Definitions = Definitions()) -> Outputs {
        guard case .success(let tree) = PgQuery.parse(sql), let statement = tree["stmts"]?.elements.first?["stmt"]?.node else {
            return .unknown
        }
        switch statement.type {
        case "FetchStmt":
            return definitions.cursors[statement.fields["portalname"]?.stringValue ?? ""] ?? .unknown
        case "ExecuteStmt":
            return definitions.prepared[statement.fields["name"]?.stringValue ?? ""] ?? .unknown
        default:
            return outputs(ofStatement: statement, in: tree, maskedColumns: maskedColumns)
        }
    }

    /// The cursors and prepared statements `sql` defines, with their outputs.
    public static func define(_ sql: String, maskedColumns: Set<String>, into definitions: inout Definitions) {
        guard case .success(let tree) = PgQuery.parse(sql) else { return }
        for raw in tree["stmts"]?.elements ?? [] {
            guard let statement = raw["stmt"]?.node else { continue }
            switch statement.type {
            case "DeclareCursorStmt":
                guard let name = statement.fields["portalname"]?.stringValue, let query = statement.fields["query"]?.node else { continue }
                definitions.cursors[name] = outputs(ofStatement: query, in: statement.fields, maskedColumns: maskedColumns)
            case "PrepareStmt":
                guard let name = statement.fields["name"]?.stringValue, let query = statement.fields["query"]?.node else { continue }
                definitions.prepared[name] = outputs(ofStatement: query, in: statement.fields, maskedColumns: maskedColumns)
            default:
                continue
            }
        }
    }

    static func outputs(ofStatement statement: (type: String, fields: ParseTree), in tree: ParseTree, maskedColumns: Set<String>) -> Outputs {
        if tree.contains(where: { node in
            guard let call = node.node, call.type == "FuncCall" else { return false }
            return sqlTextFunctions.contains(functionName(call.fields))
        }) { return .unknown }
        var lineage = Lineage(names: Set(maskedColumns.map { $0.lowercased() }))
        lineage.collectRelations(tree)
        lineage.propagate(tree)
        switch statement.type {
        case "SelectStmt":
            return .entries(lineage.outputs(ofSelect: statement.fields, top: true).map { Entry(tainted: $0.tainted, isStar: $0.isStar) })
        case "InsertStmt", "UpdateStmt", "DeleteStmt":
            guard let returning = statement.fields["returningList"]?.elements, !returning.isEmpty else { return .none }
            return .entries(lineage.targets(returning, top: true).map { Entry(tainted: $0.tainted, isStar: $0.isStar) })
        case "FetchStmt", "ExecuteStmt", "CallStmt":
            return .unknown
        case "ExplainStmt":
            return .none
        default:
            return .none
        }
    }

    static func functionName(_ fields: ParseTree) -> String {
        (fields["funcname"]?.elements.last?.node?.fields["sval"]?.stringValue ?? "").lowercased()
    }

    private struct Output {
        var tainted: Bool
        var name: String?
        var isStar: Bool
    }

    private struct Lineage {
        /// Column names whose values are (or derive from) masked ones.
        var names: Set<String>
        /// Names of relations and their aliases: a lone name among them is a whole row.
        var relations: Set<String> = []
        /// Whether a subquery, CTE or function in FROM yields tainted columns: a `*` over it
        /// expands to them.
        var innerTainted = false

        mutating func collectRelations(_ tree: ParseTree) {
            // Tables (a RangeVar, wrapped or as a typed field), subqueries and CTEs: not a
            // function's alias in FROM (`generate_series(1, 9) g` makes `g` a value).
            tree.forEachDescendant { value in
                if let relation = value["relname"]?.stringValue {
                    relations.insert(relation.lowercased())
                    if let alias = value["alias"]?["aliasname"]?.stringValue { relations.insert(alias.lowercased()) }
                }
                if let node = value.node, node.type == "RangeSubselect", let alias = node.fields["alias"]?["aliasname"]?.stringValue {
                    relations.insert(alias.lowercased())
                }
                if let cte = value["ctename"]?.stringValue { relations.insert(cte.lowercased()) }
            }
        }

        /// Until nothing changes: each inner SELECT's tainted outputs taint their names, the
        /// column names a CTE or subquery alias gives them, and `*` over them.
        mutating func propagate(_ tree: ParseTree) {
            for _ in 0..<8 {
                let before = (names.count, innerTainted)
                visit(tree, top: true)
                if (names.count, innerTainted) == before { return }
            }
        }

        private mutating func visit(_ tree: ParseTree, top: Bool) {
            switch tree {
            case .object(let members):
                if let node = tree.node {
                    switch node.type {
                    case "CommonTableExpr":
                        if let query = node.fields["ctequery"]?.node, query.type == "SelectStmt" {
                            let outputs = outputs(ofSelect: query.fields, top: false)
                            let aliases = (node.fields["aliascolnames"]?.elements ?? []).compactMap { $0.node?.fields["sval"]?.stringValue }
                            for (index, output) in outputs.enumerated() where output.tainted {
                                innerTainted = true
                                if index < aliases.count { names.insert(aliases[index].lowercased()) }
                            }
                        }
                    case "RangeSubselect":
                        if let query = node.fields["subquery"]?.node, query.type == "SelectStmt" {
                            let outputs = outputs(ofSelect: query.fields, top: false)
                            let aliases = (node.fields["alias"]?["colnames"]?.elements ?? []).compactMap { $0.node?.fields["sval"]?.stringValue }
                            for (index, output) in outputs.enumerated() where output.tainted {
                                innerTainted = true
                                if index < aliases.count { names.insert(aliases[index].lowercased()) }
                            }
                        }
                    case "RangeFunction":
                        if node.fields.contains(where: { isTaintedReference($0) }) { innerTainted = true }
                    case "SelectStmt":
                        if !top {
                            for output in outputs(ofSelect: node.fields, top: false) where output.tainted {
                                if let name = output.name { names.insert(name) }
                            }
                        }
                    default:
                        break
                    }
                    visit(node.fields, top: false)
                } else {
                    for member in members { visit(member.value, top: false) }
                }
            case .array(let items):
                for item in items { visit(item, top: top) }
            default:
                break
            }
        }

        func outputs(ofSelect fields: ParseTree, top: Bool) -> [Output] {
            if let operation = fields["op"]?.stringValue, operation != "SETOP_NONE" {
                let left = fields["larg"].map { outputs(ofSelect: $0, top: top) } ?? []
                let right = fields["rarg"].map { outputs(ofSelect: $0, top: top) } ?? []
                return left.enumerated().map { index, output in
                    var merged = output
                    if index < right.count, right[index].tainted { merged.tainted = true }
                    return merged
                }
            }
            if let rows = fields["valuesLists"]?.elements, !rows.isEmpty {
                let width = rows.map { ($0.node?.fields["items"]?.elements ?? $0.elements).count }.max() ?? 0
                return (0..<width).map { column in
                    let tainted = rows.contains { row in
                        let items = row.node?.fields["items"]?.elements ?? row.elements
                        return column < items.count && expressionTainted(items[column])
                    }
                    return Output(tainted: tainted, name: "column\(column + 1)", isStar: false)
                }
            }
            return targets(fields["targetList"]?.elements ?? [], top: top)
        }

        func targets(_ list: [ParseTree], top: Bool) -> [Output] {
            list.map { target in
                let fields = target.node?.fields ?? target
                let value = fields["val"] ?? .null
                if let reference = value.node, reference.type == "ColumnRef",
                   reference.fields["fields"]?.elements.last?.node?.type == "A_Star" {
                    // A star over tables is masked by the columns' table origin; over a
                    // subquery, CTE or function with tainted outputs, by this.
                    return Output(tainted: innerTainted, name: nil, isStar: true)
                }
                let name = fields["name"]?.stringValue?.lowercased() ?? Self.implicitName(value)
                return Output(tainted: expressionTainted(value), name: name, isStar: false)
            }
        }

        /// Whether an output expression reaches a masked value. A whole row inside a JSON
        /// constructor at the expression's root is left to the JSON key masker.
        func expressionTainted(_ expression: ParseTree) -> Bool {
            var root = expression
            while let cast = root.node, cast.type == "TypeCast", let inner = cast.fields["arg"] { root = inner }
            if let call = root.node, call.type == "FuncCall", MaskLineage.jsonConstructors.contains(MaskLineage.functionName(call.fields)) {
                return call.fields.contains { isNamedReference($0) }
            }
            return expression.contains { isTaintedReference($0) }
        }

        func isNamedReference(_ value: ParseTree) -> Bool {
            guard let reference = value.node, reference.type == "ColumnRef" else { return false }
            let fields = reference.fields["fields"]?.elements ?? []
            guard fields.count >= 2 || !relations.contains(fields.first?.node?.fields["sval"]?.stringValue?.lowercased() ?? "") else { return false }
            guard let last = fields.last?.node?.fields["sval"]?.stringValue else { return false }
            return names.contains(last.lowercased())
        }

        func isTaintedReference(_ value: ParseTree) -> Bool {
            guard let node = value.node else { return false }
            if node.type == "A_Indirection" || node.type == "A_Star" { return false }
            guard node.type == "ColumnRef" else { return false }
            let fields = node.fields["fields"]?.elements ?? []
            guard let last = fields.last?.node else { return false }
            // t.* inside an expression, or a lone relation name: a whole row.
            if last.type == "A_Star" { return true }
            guard let name = last.fields["sval"]?.stringValue?.lowercased() else { return false }
            if fields.count == 1, relations.contains(name) { return true }
            return names.contains(name)
        }

        static func implicitName(_ value: ParseTree) -> String? {
            guard let node = value.node else { return nil }
            switch node.type {
            case "ColumnRef":
                return node.fields["fields"]?.elements.last?.node?.fields["sval"]?.stringValue?.lowercased()
            case "FuncCall":
                return MaskLineage.functionName(node.fields)
            case "TypeCast":
                return node.fields["arg"].flatMap(implicitName)
            case "A_Indirection":
                return node.fields["indirection"]?.elements.last?.node?.fields["sval"]?.stringValue?.lowercased()
            default:
                return nil
            }
        }
    }
}

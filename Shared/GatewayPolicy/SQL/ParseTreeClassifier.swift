/// Finds what one statement's parse tree does, wherever it does it: every node of the tree
/// is visited, so a DELETE in a CTE, a DROP under EXPLAIN or a call of
/// `pg_terminate_backend` in a DEFAULT expression is found as surely as at the top.
/// PL/pgSQL bodies (DO, CREATE FUNCTION) are parsed and their static SQL classified too; a
/// dynamic EXECUTE of anything but a constant string is opaque.
struct ParseTreeClassifier {
    /// How deep bodies within bodies (a DO block's EXECUTE of a constant holding another
    /// DO block, ...) are opened; deeper is opaque.
    static let maximumNesting = 6

    /// What the session (and the statements before this one in its query string) prepared.
    let session: SQLSession
    let nesting: Int
    private(set) var findings = SQLFindings()
    /// PREPAREs of this statement: each name with its body's findings.
    private(set) var prepares: [(name: String, findings: SQLFindings)] = []

    init(session: SQLSession, nesting: Int = 0) {
        self.session = session
        self.nesting = nesting
    }

    /// Classifies one raw statement tree; `text` is its SQL (for a CREATE FUNCTION's body).
    mutating func classify(_ tree: ParseTree, text: String) {
        visit(tree, text: text)
    }

    private mutating func visit(_ tree: ParseTree, text: String) {
        switch tree {
        case .object(let members):
            if let node = tree.node {
                if handle(node.type, node.fields, text: text) { visit(node.fields, text: text) }
            } else {
                for member in members { visit(member.value, text: text) }
            }
        case .array(let items):
            for item in items { visit(item, text: text) }
        default:
            break
        }
    }

    /// Notes what a node is; false when its children are not to be visited as part of this
    /// statement (a PREPARE body, decided when it is executed).
    private mutating func handle(_ type: String, _ fields: ParseTree, text: String) -> Bool {
        switch type {
        case "InsertStmt":
            findings.kinds.insert(.write)
        case "UpdateStmt":
            findings.kinds.insert(.write)
            if RowFilter.isUnbounded(fields["whereClause"], target: fields["relation"]) { findings.kinds.insert(.updateWithoutWhere) }
        case "DeleteStmt":
            findings.kinds.insert(.write)
            if RowFilter.isUnbounded(fields["whereClause"], target: fields["relation"]) { findings.kinds.insert(.deleteWithoutWhere) }
        case "MergeStmt":
            findings.kinds.insert(.write)
            for clause in (fields["mergeWhenClauses"]?.elements ?? []) {
                switch clause.node?.fields["commandType"]?.stringValue {
                case "CMD_DELETE":
                    findings.kinds.insert(.deleteWithoutWhere)
                case "CMD_UPDATE":
                    if RowFilter.isUnbounded(fields["joinCondition"], target: fields["relation"]) { findings.kinds.insert(.updateWithoutWhere) }
                default:
                    break
                }
            }
        case "TruncateStmt":
            findings.kinds.formUnion([.write, .truncate])
        case "CopyStmt":
            if fields["is_from"]?.isTrue == true { findings.kinds.insert(.write) }
            if fields["is_program"]?.isTrue == true { findings.kinds.insert(.copyProgram) }
            if fields["is_from"]?.isTrue != true, fields["filename"] == nil { findings.copiesToClient = true }
        case "AlterTableCmd":
            if fields["subtype"]?.stringValue == "AT_DropColumn" { findings.kinds.insert(.drop) }
        case "GrantStmt", "GrantRoleStmt":
            findings.kinds.insert(.grant)
        case "AlterDefaultPrivilegesStmt":
            findings.kinds.formUnion([.grant, .ddl])
        case "AlterSystemStmt":
            findings.kinds.formUnion([.alterSystem, .ddl])
            settingsStatement(fields["setstmt"])
        case "AlterRoleSetStmt", "AlterDatabaseSetStmt":
            settingsStatement(fields["setstmt"])
        case "FuncCall":
            functionCall(fields)
        case "VariableSetStmt":
            if let reason = SessionSettings.refusal(variableSet: fields) { findings.unsafeSettings.append(reason) }
        case "DoStmt":
            doBlock(fields)
        case "CreateFunctionStmt":
            findings.kinds.insert(.ddl)
            let what = fields["is_procedure"]?.isTrue == true ? "a procedure" : "a function"
            findings.opaque.append("it creates \(what), whose body runs later, out of the gateway's sight")
            functionBody(fields, text: text)
        case "CreateTrigStmt":
            findings.kinds.insert(.ddl)
            findings.opaque.append("it creates a trigger, which runs code on later statements")
        case "RuleStmt":
            findings.kinds.insert(.ddl)
            findings.opaque.append("it creates a rule, which rewrites later statements")
        case "CreateEventTrigStmt", "AlterEventTrigStmt":
            findings.kinds.insert(.ddl)
            findings.opaque.append("it creates or changes an event trigger, which runs code on later statements")
        case "DefineStmt":
            findings.kinds.insert(.ddl)
            switch fields["kind"]?.stringValue {
            case "OBJECT_OPERATOR", "OBJECT_AGGREGATE", "OBJECT_TYPE":
                findings.opaque.append("it defines an operator, aggregate or type that calls functions later")
            default:
                break
            }
        case "CreateCastStmt", "CreatePLangStmt", "CreateTransformStmt", "CreateConversionStmt", "AlterFunctionStmt":
            findings.kinds.insert(.ddl)
            findings.opaque.append("it creates or changes code that runs later (a cast, language, transform, conversion or function)")
        case "PrepareStmt":
            var body = ParseTreeClassifier(session: session, nesting: nesting)
            if let query = fields["query"] { body.visit(query, text: text) }
            if let name = fields["name"]?.stringValue { prepares.append((name, body.findings)) }
            return false
        case "ExecuteStmt":
            let name = fields["name"]?.stringValue ?? ""
            if let known = session.findings(ofPrepared: name) {
                findings.formUnion(known)
            } else {
                findings.opaque.append("it executes prepared statement \"\(name)\", which the gateway did not see prepared")
            }
        default:
            break
        }
        if Self.isDDL(type) { findings.kinds.insert(.ddl) }
        if Self.isDrop(type) { findings.kinds.formUnion([.drop, .ddl]) }
        return true
    }

    private static let dropStatements: Set<String> = [
        "DropStmt", "DropOwnedStmt", "DropdbStmt", "DropRoleStmt", "DropTableSpaceStmt", "DropSubscriptionStmt", "DropUserMappingStmt",
    ]

    private static let otherDDL: Set<String> = [
        "DefineStmt", "CommentStmt", "SecLabelStmt", "ImportForeignSchemaStmt", "ReindexStmt", "RenameStmt", "IndexStmt",
        "ViewStmt", "RuleStmt", "CompositeTypeStmt", "ReassignOwnedStmt", "RefreshMatViewStmt",
    ]

    static func isDrop(_ type: String) -> Bool { dropStatements.contains(type) }

    /// Statement nodes that change the schema: CREATE..., ALTER..., DROP... and the rest.
    static func isDDL(_ type: String) -> Bool {
        guard type.hasSuffix("Stmt") else { return false }
        return type.hasPrefix("Create") || type.hasPrefix("Alter") || type.hasPrefix("Drop") || otherDDL.contains(type)
    }

    /// A `setstmt` member: a VariableSetStmt without its node wrapper.
    private mutating func settingsStatement(_ fields: ParseTree?) {
        guard let fields, let reason = SessionSettings.refusal(variableSet: fields) else { return }
        findings.unsafeSettings.append(reason)
    }

    // MARK: - Function calls

    private mutating func functionCall(_ fields: ParseTree) {
        let name = (fields["funcname"]?.elements.last?.node?.fields["sval"]?.stringValue ?? "").lowercased()
        switch name {
        case "pg_terminate_backend", "pg_cancel_backend":
            findings.kinds.insert(.terminateBackend)
        case "lo_get", "loread":
            findings.readsLargeObjects = true
        case "set_config":
            if let reason = SessionSettings.refusal(setConfigArguments: fields["args"]?.elements ?? []) { findings.unsafeSettings.append(reason) }
        default:
            if name.hasPrefix("dblink") {
                findings.opaque.append("it calls \(name), which runs SQL on another connection out of the gateway's sight")
            }
        }
    }

    // MARK: - Bodies

    private mutating func doBlock(_ fields: ParseTree) {
        var body: String?
        var language = "plpgsql"
        for option in fields["args"]?.elements ?? [] {
            guard let element = option.node?.fields else { continue }
            let value = element["arg"]?.node?.fields["sval"]?.stringValue
            switch element["defname"]?.stringValue {
            case "as": body = value
            case "language": language = (value ?? language).lowercased()
            default: break
            }
        }
        guard language == "plpgsql" else {
            findings.opaque.append("it is a DO block in language \(language), which the gateway cannot parse")
            return
        }
        guard let body else { return }
        guard let function = PLpgSQLBody.wrapping(doBody: body) else {
            findings.opaque.append("its DO block could not be read")
            return
        }
        plpgsql(function, what: "DO block")
    }

    private mutating func functionBody(_ fields: ParseTree, text: String) {
        var language = "sql"
        var bodies: [String] = []
        for option in fields["options"]?.elements ?? [] {
            guard let element = option.node?.fields else { continue }
            switch element["defname"]?.stringValue {
            case "language":
                language = (element["arg"]?.node?.fields["sval"]?.stringValue ?? language).lowercased()
            case "as":
                // A list of strings (the body; or a C function's file and symbol).
                let items = element["arg"]?.node?.fields["items"]?.elements ?? element["arg"]?.elements ?? []
                bodies = items.compactMap { $0.node?.fields["sval"]?.stringValue }
            default:
                break
            }
        }
        switch language {
        case "plpgsql":
            plpgsql(text, what: "function body")
        case "sql":
            // A BEGIN ATOMIC body is in the tree (sql_body) and visited with it.
            for body in bodies { nested(sql: body) }
        default:
            break   // Opaque already: the function's creation is.
        }
    }

    private mutating func plpgsql(_ createFunction: String, what: String) {
        guard nesting < Self.maximumNesting else {
            findings.opaque.append("it nests bodies deeper than the gateway opens")
            return
        }
        switch PgQuery.parsePLpgSQL(createFunction) {
        case .failure(let error):
            findings.opaque.append("the PL/pgSQL parser rejected its \(what): \(error.message)")
        case .success(let tree):
            var body = PLpgSQLBody(session: session, nesting: nesting + 1)
            body.classify(tree)
            findings.formUnion(body.findings)
        }
    }

    /// SQL text found inside this statement (a function body, a constant EXECUTE string),
    /// classified as one more level of nesting.
    mutating func nested(sql: String) {
        guard nesting < Self.maximumNesting else {
            findings.opaque.append("it nests bodies deeper than the gateway opens")
            return
        }
        findings.formUnion(SQLAnalyzer.findings(of: sql, session: session, nesting: nesting + 1))
    }
}

/// Whether a DELETE's or UPDATE's condition limits the rows it touches: a condition that does
/// not depend on the target's rows (`true`, `1 = 1`, `now() IS NOT NULL`, an uncorrelated
/// `EXISTS`), that compares an expression with itself (`id = id`) or that is an OR with such
/// a branch, touches every row as surely as no condition.
///
/// Conservative towards "unbounded": a column inside a subquery counts as the target's only
/// when it is qualified with the target's name or alias (`WHERE EXISTS (SELECT 1 FROM o
/// WHERE o.cid = t.id)`).
enum RowFilter {
    static func isUnbounded(_ condition: ParseTree?, target: ParseTree?) -> Bool {
        guard let condition else { return true }
        var names: Set<String> = []
        if let relation = target?["relname"]?.stringValue { names.insert(relation) }
        if let alias = target?["alias"]?["aliasname"]?.stringValue { names.insert(alias) }
        return !restricts(condition, targetNames: names)
    }

    /// May `expression` be false for some rows and true for others?
    static func restricts(_ expression: ParseTree, targetNames: Set<String>) -> Bool {
        if let node = expression.node {
            switch node.type {
            case "BoolExpr":
                let arguments = node.fields["args"]?.elements ?? []
                switch node.fields["boolop"]?.stringValue {
                case "OR_EXPR": return !arguments.isEmpty && arguments.allSatisfy { restricts($0, targetNames: targetNames) }
                case "AND_EXPR": return arguments.contains { restricts($0, targetNames: targetNames) }
                default: return arguments.contains { restricts($0, targetNames: targetNames) }
                }
            case "A_Expr":
                let kind = node.fields["kind"]?.stringValue
                let operatorName = node.fields["name"]?.elements.last?.node?.fields["sval"]?.stringValue
                if kind == "AEXPR_NOT_DISTINCT" || (kind == "AEXPR_OP" && ["=", "<=", ">="].contains(operatorName ?? "")),
                   let left = node.fields["lexpr"], let right = node.fields["rexpr"], left.withoutLocations == right.withoutLocations {
                    return false
                }
            case "CurrentOfExpr":
                return true
            default:
                break
            }
        }
        return referencesTarget(expression, targetNames: targetNames, inSubquery: false)
    }

    private static func referencesTarget(_ tree: ParseTree, targetNames: Set<String>, inSubquery: Bool) -> Bool {
        switch tree {
        case .object(let members):
            if let node = tree.node {
                if node.type == "ColumnRef" {
                    guard inSubquery else { return true }
                    let fields = node.fields["fields"]?.elements ?? []
                    guard fields.count >= 2, let qualifier = fields[fields.count - 2].node?.fields["sval"]?.stringValue else { return false }
                    return targetNames.contains(qualifier)
                }
                if node.type == "SubLink" {
                    // `id IN (SELECT ...)`: the tested expression is outside the subquery.
                    if let tested = node.fields["testexpr"], referencesTarget(tested, targetNames: targetNames, inSubquery: inSubquery) { return true }
                    return node.fields["subselect"].map { referencesTarget($0, targetNames: targetNames, inSubquery: true) } ?? false
                }
                if node.type == "RangeSubselect" {
                    return referencesTarget(node.fields, targetNames: targetNames, inSubquery: true)
                }
                return referencesTarget(node.fields, targetNames: targetNames, inSubquery: inSubquery)
            }
            return members.contains { referencesTarget($0.value, targetNames: targetNames, inSubquery: inSubquery) }
        case .array(let items):
            return items.contains { referencesTarget($0, targetNames: targetNames, inSubquery: inSubquery) }
        default:
            return false
        }
    }
}

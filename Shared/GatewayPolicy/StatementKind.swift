/// The classes of SQL statement a guardrail can name with `statement:`.
public enum StatementKind: String, Sendable, Codable, Hashable, CaseIterable {
    /// CREATE, ALTER, DROP, COMMENT ON, SECURITY LABEL, IMPORT FOREIGN SCHEMA, REINDEX.
    case ddl
    /// DROP of any object, and `ALTER TABLE ... DROP [COLUMN]`.
    case drop
    case truncate
    /// A DELETE (anywhere, including CTEs and PREPARE) without a WHERE at its own level.
    case deleteWithoutWhere = "delete_without_where"
    /// An UPDATE (anywhere, including CTEs and PREPARE) without a WHERE at its own level.
    case updateWithoutWhere = "update_without_where"
    /// GRANT, REVOKE, ALTER DEFAULT PRIVILEGES.
    case grant
    /// COPY ... FROM/TO PROGRAM.
    case copyProgram = "copy_program"
    case alterSystem = "alter_system"
}

extension StatementKind {
    /// Words at least one of which (as a keyword token) every statement of this kind contains,
    /// DO bodies and EXECUTE strings included: exactly the words `StatementClassifier` keys
    /// each kind on. Text without any of them, read without lexing, is not of this kind.
    var keywords: [[UInt8]] { Self.keywordTable[self] ?? [] }

    private static let keywordTable: [StatementKind: [[UInt8]]] = {
        var table: [StatementKind: [[UInt8]]] = [:]
        for kind in StatementKind.allCases {
            let words: [String]
            switch kind {
            case .ddl: words = ["drop", "create", "alter", "reindex", "comment", "security", "import"]
            case .drop: words = ["drop"]
            case .truncate: words = ["truncate"]
            case .deleteWithoutWhere: words = ["delete"]
            case .updateWithoutWhere: words = ["update"]
            case .grant: words = ["grant", "revoke", "alter"]
            case .copyProgram: words = ["copy"]
            case .alterSystem: words = ["alter"]
            }
            table[kind] = words.map { Array($0.utf8) }
        }
        return table
    }()
}

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
    var keywords: [[UInt8]] {
        // A switch over static arrays: this runs for every statement the pre-check sees.
        switch self {
        case .ddl: Keywords.ddl
        case .drop: Keywords.drop
        case .truncate: Keywords.truncate
        case .deleteWithoutWhere: Keywords.delete
        case .updateWithoutWhere: Keywords.update
        case .grant: Keywords.grant
        case .copyProgram: Keywords.copy
        case .alterSystem: Keywords.alter
        }
    }

    private enum Keywords {
        static let ddl = words("drop", "create", "alter", "reindex", "comment", "security", "import")
        static let drop = words("drop")
        static let truncate = words("truncate")
        static let delete = words("delete")
        static let update = words("update")
        static let grant = words("grant", "revoke", "alter")
        static let copy = words("copy")
        static let alter = words("alter")

        static func words(_ words: String...) -> [[UInt8]] { words.map { Array($0.utf8) } }
    }
}

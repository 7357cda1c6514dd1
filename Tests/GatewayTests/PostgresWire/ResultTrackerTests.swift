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
}

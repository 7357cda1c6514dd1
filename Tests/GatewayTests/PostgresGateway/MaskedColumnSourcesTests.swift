import GatewayMasking
import NIOCore
@testable import PostgresGatewayKit
import PostgresWire
import Testing

/// Column masking follows a masked table column under an alias: RowDescription names the
/// table column a value comes from, and the session knows which of those are masked.
@Suite("Masked column sources")
struct MaskedColumnSourcesTests {
    /// A RowDescription field as the server writes it.
    static func rowDescription(_ columns: [(name: String, table: UInt32, attribute: Int16, type: UInt32)]) -> PostgresFrame {
        var payload = ByteBuffer()
        payload.writeInteger(Int16(columns.count))
        for column in columns {
            payload.writeString(column.name)
            payload.writeInteger(UInt8(0))
            payload.writeInteger(column.table)
            payload.writeInteger(column.attribute)
            payload.writeInteger(column.type)
            payload.writeInteger(Int16(-1))
            payload.writeInteger(Int32(-1))
            payload.writeInteger(Int16(0))
        }
        return PostgresFrame(type: PostgresMessageType.rowDescription, payload: payload)
    }

    @Test func anAliasOfAMaskedColumnIsMasked() throws {
        let columns = try RowMessages.parseRowDescription(Self.rowDescription([
            ("who", 16_384, 2, 25), ("ident", 16_384, 1, 23), ("name", 0, 0, 25), ("expression", 0, 0, 25),
        ]))
        #expect(columns.map(\.tableOID) == [16_384, 16_384, 0, 0])
        #expect(columns.map(\.attributeNumber) == [2, 1, 0, 0])
        var sources = MaskedColumnSources()
        let added = sources.add(row: [ByteBuffer(string: "16384"), ByteBuffer(string: "2"), ByteBuffer(string: "16386"), ByteBuffer(string: "16385")])
        let withoutRowType = sources.add(row: [ByteBuffer(string: "16390"), ByteBuffer(string: "1"), nil, nil])
        let garbled = sources.add(row: [ByteBuffer(string: "x"), nil, nil, nil])
        #expect(added && withoutRowType && !garbled)
        let plan = MaskPlan(columns: columns, policy: MaskingPolicy(columns: ["name"], entities: []), sources: sources)
        #expect(plan.action(for: 0) == .wholeText)
        // Other columns are only scanned (for masked names as JSON keys).
        #expect(plan.action(for: 1) == .scan)
        // By name, as before; an expression with no table column is scanned, not replaced.
        #expect(plan.action(for: 2) == .wholeText)
        #expect(plan.action(for: 3) == .scan)

        // A whole row of that table, or an array of its rows (row type 16386, array type 16385).
        let rows = [ResultColumn(name: "c", typeOID: 16_386, format: 0), ResultColumn(name: "array_agg", typeOID: 16_385, format: 1)]
        let rowPlan = MaskPlan(columns: rows, policy: MaskingPolicy(columns: ["name"], entities: []), sources: sources)
        #expect(rowPlan.action(for: 0) == .wholeText)
        #expect(rowPlan.action(for: 1) == .wholeBinary)
    }

    @Test func theCatalogQueryQuotesTheNames() {
        let query = MaskedColumnSources.query(names: ["Email", "o'neil"])
        #expect(query.hasSuffix("OPERATOR(pg_catalog.=) ANY (ARRAY['email', 'o''neil']::pg_catalog.text[])"))
        #expect(!query.contains(" lower(") && !query.contains(" = ") && !query.contains(" > "))
    }
}

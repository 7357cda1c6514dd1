import GatewayPolicy
import Testing

/// Which outputs of a statement derive from a masked column (here `email` and `name`).
@Suite("Masking lineage")
struct MaskLineageTests {
    static let masked: Set<String> = ["email", "name"]

    struct Case: Sendable, CustomTestStringConvertible {
        var sql: String
        var tainted: [Bool]?
        var testDescription: String { sql }
    }

    static let cases: [Case] = [
        Case(sql: "SELECT id, email FROM customers", tainted: [false, true]),
        Case(sql: "SELECT upper(email) FROM customers", tainted: [true]),
        Case(sql: "SELECT id, encode(convert_to(email, 'UTF8'), 'base64') AS b FROM customers", tainted: [false, true]),
        Case(sql: "SELECT reverse(email), replace(email, '@', ' at ') FROM customers", tainted: [true, true]),
        Case(sql: "SELECT substr(email, 1, 3), split_part(email, '@', 2) FROM customers", tainted: [true, true]),
        Case(sql: "SELECT email::bytea FROM customers", tainted: [true]),
        Case(sql: "SELECT email || '1' FROM customers", tainted: [true]),
        Case(sql: "SELECT string_to_array(email, NULL) FROM customers", tainted: [true]),
        Case(sql: "SELECT string_agg(email, ',') FROM customers", tainted: [true]),
        Case(sql: "SELECT length(email) FROM customers", tainted: [true]),
        Case(sql: "SELECT c.email AS contact FROM customers c", tainted: [true]),
        Case(sql: "SELECT (c).email FROM customers c", tainted: [true]),
        Case(sql: "SELECT c::text FROM customers c", tainted: [true]),
        Case(sql: "SELECT ROW(c.*)::text FROM customers c", tainted: [true]),
        Case(sql: "SELECT x FROM (SELECT upper(email) AS x FROM customers) s", tainted: [true]),
        Case(sql: "SELECT a FROM (SELECT email FROM customers) s(a)", tainted: [true]),
        Case(sql: "WITH t(a) AS (SELECT email FROM customers) SELECT lower(a) FROM t", tainted: [true]),
        Case(sql: "WITH t AS (SELECT email AS e FROM customers) SELECT e FROM t", tainted: [true]),
        Case(sql: "SELECT id FROM customers UNION SELECT email FROM customers", tainted: [true]),
        Case(sql: "SELECT (SELECT email FROM customers LIMIT 1)", tainted: [true]),
        Case(sql: "SELECT s.* FROM (SELECT upper(email) FROM customers) s", tainted: [true]),
        Case(sql: "SELECT * FROM customers", tainted: [false]),
        Case(sql: "SELECT id, note FROM customers", tainted: [false, false]),
        Case(sql: "SELECT count(*) FROM customers", tainted: [false]),
        Case(sql: "SELECT json_agg(c) FROM customers c", tainted: [false]),
        Case(sql: "SELECT json_agg(email) FROM customers", tainted: [true]),
        Case(sql: "SELECT to_jsonb(c) - 'email' FROM customers c", tainted: [true]),
        Case(sql: "UPDATE customers SET note = 'x' WHERE id = 1 RETURNING id, upper(name)", tainted: [false, true]),
        Case(sql: "VALUES (1)", tainted: [false]),
        Case(sql: "FETCH 10 FROM c", tainted: nil),
        Case(sql: "EXECUTE p", tainted: nil),
        Case(sql: "SELECT query_to_xml('select email from customers', true, true, '')", tainted: nil),
        Case(sql: "SELECT table_to_xml('customers', true, true, '')", tainted: nil),
    ]

    @Test("tainted outputs", arguments: cases)
    func tainted(_ testCase: Case) {
        let outputs = MaskLineage.outputs(of: testCase.sql, maskedColumns: Self.masked)
        switch outputs {
        case .entries(let entries): #expect(entries.map(\.tainted) == testCase.tainted, "\(entries)")
        case .unknown: #expect(testCase.tainted == nil)
        case .none: #expect(testCase.tainted?.allSatisfy { !$0 } == true)
        }
    }
}

extension MaskLineageTests {
    /// A cursor's FETCH and a prepared statement's EXECUTE are traced through their
    /// definitions, as drivers' server-side cursors use them.
    @Test func cursorsAndPreparedStatements() {
        var definitions = MaskLineage.Definitions()
        MaskLineage.define("DECLARE \"big\" CURSOR FOR SELECT g, 'user' || g || '@example.com' FROM generate_series(1, 500) g", maskedColumns: Self.masked, into: &definitions)
        MaskLineage.define("PREPARE p AS SELECT id, upper(name) FROM customers", maskedColumns: Self.masked, into: &definitions)
        #expect(MaskLineage.outputs(of: "FETCH FORWARD 100 FROM \"big\"", maskedColumns: Self.masked, definitions: definitions) == .entries([.init(tainted: false, isStar: false), .init(tainted: false, isStar: false)]))
        #expect(MaskLineage.outputs(of: "EXECUTE p", maskedColumns: Self.masked, definitions: definitions) == .entries([.init(tainted: false, isStar: false), .init(tainted: true, isStar: false)]))
        #expect(MaskLineage.outputs(of: "FETCH ALL FROM other", maskedColumns: Self.masked, definitions: definitions) == .unknown)
    }
}

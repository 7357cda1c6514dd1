import Foundation
import GatewayTesting
import Testing

/// Reversible transforms of a masked column (`name` holds "Jane Roe"), each through psql and
/// a real gateway to a real PostgreSQL: the value never reaches the client in clear or in
/// the transformed form the query asked for, and the other values stay intact.
@Suite("Masking lineage attacks against a real PostgreSQL")
struct MaskingLineageAttackTests {
    /// Each query, and what its output must not contain.
    static let attempts: [(sql: String, forbidden: [String])] = [
        ("SELECT name FROM customers WHERE id = 1", ["Jane"]),
        ("SELECT upper(name) FROM customers WHERE id = 1", ["JANE ROE"]),
        ("SELECT reverse(name) FROM customers WHERE id = 1", ["eoR enaJ"]),
        ("SELECT encode(convert_to(name, 'UTF8'), 'base64') FROM customers WHERE id = 1", ["SmFuZSBSb2U="]),
        ("SELECT encode(convert_to(name, 'UTF8'), 'hex') FROM customers WHERE id = 1", ["4a616e6520526f65"]),
        ("SELECT name::bytea FROM customers WHERE id = 1", ["4a616e6520526f65"]),
        ("SELECT replace(name, ' ', '_') FROM customers WHERE id = 1", ["Jane_Roe"]),
        ("SELECT substr(name, 1, 4) AS a, substr(name, 5) AS b FROM customers WHERE id = 1", ["Jane", "Roe"]),
        ("SELECT split_part(name, ' ', 1) FROM customers WHERE id = 1", ["Jane"]),
        ("SELECT string_to_array(name, NULL) FROM customers WHERE id = 1", ["J,a,n,e"]),
        ("SELECT name || '1' FROM customers WHERE id = 1", ["Jane Roe1"]),
        ("SELECT regexp_replace(name, '(.)', '\\1.', 'g') FROM customers WHERE id = 1", ["J.a.n.e"]),
        ("SELECT x FROM (SELECT lower(name) AS x FROM customers WHERE id = 1) s", ["jane roe"]),
        ("WITH t(a) AS (SELECT name FROM customers WHERE id = 1) SELECT initcap(a) FROM t", ["Jane Roe"]),
        ("SELECT (c).name FROM customers c WHERE id = 1", ["Jane"]),
        ("SELECT c::text FROM customers c WHERE id = 1", ["Jane"]),
        ("SELECT string_agg(name, ',') FROM customers", ["Jane"]),
        ("SELECT array_agg(upper(name)) FROM customers", ["JANE"]),
        ("SELECT note FROM customers WHERE id = 0 UNION ALL SELECT name FROM customers WHERE id = 1", ["Jane"]),
        ("SELECT (SELECT name FROM customers WHERE id = 1) AS n", ["Jane"]),
        ("SELECT s.* FROM (SELECT upper(name) FROM customers WHERE id = 1) s", ["JANE"]),
        ("SELECT query_to_xml('select name from customers where id = 1', true, true, '')", ["Jane"]),
        ("BEGIN; DECLARE cur CURSOR FOR SELECT upper(name) FROM customers WHERE id = 1; FETCH ALL FROM cur; COMMIT", ["JANE"]),
    ]

    @Test func noTransformRevealsTheMaskedColumn() async throws {
        let fixture = try await PostgresGatewayFixture.start()
        for attempt in Self.attempts {
            let result = try fixture.psql([attempt.sql])
            #expect(result.output.contains("[MASKED]"), "\(attempt.sql): \(result.output)")
            for forbidden in attempt.forbidden {
                #expect(!result.output.contains(forbidden), "\(attempt.sql): \(result.output)")
            }
        }
        // A prepared statement is masked when executed (its outputs are not traced there:
        // every computed column is masked).
        let prepared = try fixture.psql(["PREPARE p AS SELECT upper(name), id + 1 FROM customers WHERE id = 1", "EXECUTE p"])
        #expect(!prepared.output.contains("JANE"), "\(prepared.output)")
        // Large objects hold bytes no masker scans: reading one is refused, by SQL and
        // through psql's \lo_export (the fast path's loread).
        let created = try fixture.psql(["SELECT lo_from_bytea(0, convert_to('Jane Roe', 'UTF8'))"])
        let oid = created.output.split(whereSeparator: \.isNewline).last.map(String.init)?.trimmingCharacters(in: .whitespaces) ?? "0"
        let read = try fixture.psql(["SELECT lo_get(\(oid))", "SELECT convert_from(lo_get(\(oid)), 'UTF8')", "SELECT 'after-lo'"])
        #expect(read.output.contains("reading large objects"), "\(read.output)")
        #expect(!read.output.contains("Jane"), "\(read.output)")
        #expect(read.output.contains("after-lo"), "\(read.output)")
        let exported = NSTemporaryDirectory() + "gateway-lo-\(UUID().uuidString.prefix(8))"
        let export = try fixture.psql(["\\lo_export \(oid) \(exported)"])
        #expect(export.output.contains("reading large objects"), "\(export.output)")
        #expect(!(String(data: FileManager.default.contents(atPath: exported) ?? Data(), encoding: .utf8) ?? "").contains("Jane"))
        // A view over the table: its columns are masked as the table's are, renamed or computed.
        try fixture.direct("""
            CREATE VIEW contacts AS SELECT id, name AS who, upper(name) AS shout FROM customers;
            CREATE VIEW vip AS SELECT id, who AS person FROM contacts;
            GRANT SELECT ON contacts, vip TO scram_user, md5_user, trusted_user
            """)
        let view = try fixture.psql([
            "SELECT who, shout, id FROM contacts WHERE id = 1", "SELECT * FROM contacts WHERE id = 1",
            "SELECT person, lower(person) FROM vip WHERE id = 1", "SELECT reverse(who) FROM contacts WHERE id = 1",
        ])
        #expect(!view.output.contains("Jane") && !view.output.contains("JANE") && !view.output.contains("jane") && !view.output.contains("eoR"), "\(view.output)")
        // Channels other than results: every field of a notice (here hint and schema, shown
        // with psql's verbose errors), a NOTIFY channel's name and its payload.
        let channels = try fixture.psql([
            "\\set VERBOSITY verbose",
            "DO $$ BEGIN RAISE NOTICE 'n' USING HINT = (SELECT email FROM customers WHERE id = 1), SCHEMA = (SELECT email FROM customers WHERE id = 1); END $$",
            "LISTEN \"jane@example.com\"", "NOTIFY \"jane@example.com\", 'bob@example.org'", "SELECT 'after-notify'",
        ])
        #expect(!channels.output.contains("jane@example.com") && !channels.output.contains("bob@example.org"), "\(channels.output)")
        #expect(channels.output.contains("Asynchronous notification \"[EMAIL]\" with payload \"[EMAIL]\""), "\(channels.output)")
        #expect(channels.output.contains("[EMAIL]") && channels.output.contains("after-notify"), "\(channels.output)")
        // Values that do not come from a masked column are untouched.
        let plain = try fixture.psql(["SELECT id, upper(note) FROM customers WHERE id = 2", "SELECT count(*), max(id) FROM customers"])
        #expect(plain.output.contains("2|"), "\(plain.output)")
        #expect(plain.output.contains("2|2"), "\(plain.output)")
        #expect(await fixture.stop() == 0)
    }
}

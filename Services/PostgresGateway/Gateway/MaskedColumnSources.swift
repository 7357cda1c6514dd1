import NIOCore
import PostgresWire

/// The table columns `masking.columns` names, by where they live: table OID and attribute
/// number, as RowDescription reports them for a value taken straight from a table column,
/// whatever the result calls it. So `SELECT email AS e` is masked as `SELECT email` is. And
/// the row types of the tables holding them (and arrays of those), so a whole row,
/// `SELECT c FROM customers c` or `array_agg(c)`, is masked whole.
/// Read from the upstream's catalog when a session starts (`UpstreamConnection`); a table
/// created later in the session is masked by column name only.
struct MaskedColumnSources: Sendable, Equatable {
    struct Source: Hashable, Sendable {
        var table: UInt32
        var attribute: Int16
    }

    private(set) var sources: Set<Source> = []
    /// Row types (and their array types) of the tables with a masked column.
    private(set) var rowTypes: Set<UInt32> = []

    init(_ sources: Set<Source> = [], rowTypes: Set<UInt32> = []) {
        self.sources = sources
        self.rowTypes = rowTypes
    }

    /// Whether the column's values come from a masked table column, or are whole rows (or
    /// arrays of rows) of a table that has one.
    func contains(_ column: ResultColumn) -> Bool {
        (column.tableOID != 0 && sources.contains(Source(table: column.tableOID, attribute: column.attributeNumber)))
            || rowTypes.contains(column.typeOID)
    }

    /// The catalog query: every live user column, in any table, view or schema, named as a
    /// masked column (compared as `masking.columns` are, lower-cased). Every function, operator
    /// and type is named with its schema: the session's `search_path` is the client's to set,
    /// and a `lower` or `=` of its own earlier in the path must not answer for the catalog's.
    static func query(names: some Collection<String>) -> String {
        let literals = names.sorted().map { "'\($0.lowercased().replacingOccurrences(of: "'", with: "''"))'" }.joined(separator: ", ")
        return "SELECT a.attrelid, a.attnum, t.oid, t.typarray FROM pg_catalog.pg_attribute a"
            + " JOIN pg_catalog.pg_class c ON c.oid OPERATOR(pg_catalog.=) a.attrelid"
            + " LEFT JOIN pg_catalog.pg_type t ON t.oid OPERATOR(pg_catalog.=) c.reltype"
            + " WHERE a.attnum OPERATOR(pg_catalog.>) 0 AND NOT a.attisdropped"
            + " AND pg_catalog.lower(a.attname::pg_catalog.text) OPERATOR(pg_catalog.=) ANY (ARRAY[\(literals)]::pg_catalog.text[])"
    }

    /// Adds one row of the query's result (text format: table, attribute, row type and its
    /// array type, the last two NULL for a relation without a row type); false for a row that
    /// does not read as one.
    mutating func add(row values: [ByteBuffer?]) -> Bool {
        guard values.count == 4, let table = values[0].flatMap({ UInt32(String(buffer: $0)) }),
              let attribute = values[1].flatMap({ Int16(String(buffer: $0)) }) else { return false }
        sources.insert(Source(table: table, attribute: attribute))
        for value in values[2...] {
            guard let value else { continue }
            guard let type = UInt32(String(buffer: value)) else { return false }
            if type != 0 { rowTypes.insert(type) }
        }
        return true
    }
}

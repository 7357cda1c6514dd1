import NIOCore
import PostgresWire

/// The table columns `masking.columns` names, by where they live: table OID and attribute
/// number, as RowDescription reports them for a value taken straight from a table column,
/// whatever the result calls it. So `SELECT email AS e` is masked as `SELECT email` is.
/// Read from the upstream's catalog when a session starts (`UpstreamConnection`); a table
/// created later in the session is masked by column name only.
struct MaskedColumnSources: Sendable, Equatable {
    struct Source: Hashable, Sendable {
        var table: UInt32
        var attribute: Int16
    }

    private(set) var sources: Set<Source> = []

    init(_ sources: Set<Source> = []) {
        self.sources = sources
    }

    /// Whether the column's values come from a masked table column.
    func contains(_ column: ResultColumn) -> Bool {
        column.tableOID != 0 && sources.contains(Source(table: column.tableOID, attribute: column.attributeNumber))
    }

    /// The catalog query: every live user column, in any table, view or schema, named as a
    /// masked column (compared as `masking.columns` are, lower-cased). Every function, operator
    /// and type is named with its schema: the session's `search_path` is the client's to set,
    /// and a `lower` or `=` of its own earlier in the path must not answer for the catalog's.
    static func query(names: some Collection<String>) -> String {
        let literals = names.sorted().map { "'\($0.lowercased().replacingOccurrences(of: "'", with: "''"))'" }.joined(separator: ", ")
        return "SELECT attrelid, attnum FROM pg_catalog.pg_attribute WHERE attnum OPERATOR(pg_catalog.>) 0 AND NOT attisdropped"
            + " AND pg_catalog.lower(attname::pg_catalog.text) OPERATOR(pg_catalog.=) ANY (ARRAY[\(literals)]::pg_catalog.text[])"
    }

    /// Adds one row of the query's result (text format); false for a row that does not read as one.
    mutating func add(row values: [ByteBuffer?]) -> Bool {
        guard values.count == 2, let table = values[0].flatMap({ UInt32(String(buffer: $0)) }),
              let attribute = values[1].flatMap({ Int16(String(buffer: $0)) }) else { return false }
        sources.insert(Source(table: table, attribute: attribute))
        return true
    }
}

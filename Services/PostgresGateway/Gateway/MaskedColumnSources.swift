import GatewayPolicy
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
    /// Names of view columns computed from a masked column: masked by lineage in the
    /// session's statements too (`SELECT upper(who) FROM contacts`).
    private(set) var taintedNames: Set<String> = []
    /// The definitions of the views over a masked column (directly or through other views),
    /// by OID, until `resolveViews` reads them.
    private var viewDefinitions: [UInt32: String] = [:]

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
        return "SELECT a.attrelid, a.attnum, t.oid, t.typarray FROM pg_catalog.pg_attribute a"
            + " JOIN pg_catalog.pg_class c ON c.oid OPERATOR(pg_catalog.=) a.attrelid"
            + " LEFT JOIN pg_catalog.pg_type t ON t.oid OPERATOR(pg_catalog.=) c.reltype"
            + " WHERE a.attnum OPERATOR(pg_catalog.>) 0 AND NOT a.attisdropped"
            + " AND " + namedMasked(names)
    }

    /// The condition that attribute `a` is named as a masked column (lower-cased, compared
    /// with the catalog's own functions and operators).
    static func namedMasked(_ names: some Collection<String>) -> String {
        let literals = names.sorted().map { "'\($0.lowercased().replacingOccurrences(of: "'", with: "''"))'" }.joined(separator: ", ")
        return "pg_catalog.lower(a.attname::pg_catalog.text) OPERATOR(pg_catalog.=) ANY (ARRAY[\(literals)]::pg_catalog.text[])"
    }

    /// The views (and materialized views) whose definition reads a relation holding a masked
    /// column, directly or through other views, with their definitions (`pg_get_viewdef`).
    static func viewQuery(names: some Collection<String>) -> String {
        return "WITH RECURSIVE tainted(rel) AS ("
            + "SELECT a.attrelid FROM pg_catalog.pg_attribute a WHERE a.attnum OPERATOR(pg_catalog.>) 0 AND NOT a.attisdropped"
            + " AND " + namedMasked(names)
            + " UNION SELECT r.ev_class FROM pg_catalog.pg_rewrite r JOIN pg_catalog.pg_depend d"
            + " ON d.classid OPERATOR(pg_catalog.=) 'pg_catalog.pg_rewrite'::pg_catalog.regclass AND d.objid OPERATOR(pg_catalog.=) r.oid"
            + " AND d.refclassid OPERATOR(pg_catalog.=) 'pg_catalog.pg_class'::pg_catalog.regclass"
            + " JOIN tainted t ON t.rel OPERATOR(pg_catalog.=) d.refobjid WHERE r.ev_class OPERATOR(pg_catalog.<>) d.refobjid)"
            + " SELECT c.oid, pg_catalog.pg_get_viewdef(c.oid) FROM pg_catalog.pg_class c JOIN tainted t ON t.rel OPERATOR(pg_catalog.=) c.oid"
            + " WHERE c.relkind OPERATOR(pg_catalog.=) ANY (ARRAY['v', 'm']::pg_catalog.\"char\"[])"
    }

    /// Adds one row of the view query's result (OID, definition); false for a row that does
    /// not read as one.
    mutating func addView(row values: [ByteBuffer?]) -> Bool {
        guard values.count == 2, let oid = values[0].flatMap({ UInt32(String(buffer: $0)) }), let definition = values[1] else { return false }
        viewDefinitions[oid] = String(buffer: definition)
        return true
    }

    /// Reads each view's definition with the masking lineage: a view column computed from a
    /// masked column, or from a tainted column of another view, is masked where the server
    /// reports it (the view's OID and the column's number), and its name is tainted.
    mutating func resolveViews(maskedNames: some Collection<String>) {
        var names = Set(maskedNames.map { $0.lowercased() })
        for _ in 0..<8 {
            let before = (sources.count, names.count)
            for (oid, definition) in viewDefinitions {
                guard case .entries(let entries) = MaskLineage.outputs(of: definition, maskedColumns: names) else {
                    // A definition that cannot be traced: every column of the view is masked.
                    for attribute in 1...64 { sources.insert(Source(table: oid, attribute: Int16(attribute))) }
                    continue
                }
                for (index, entry) in entries.enumerated() where entry.tainted {
                    sources.insert(Source(table: oid, attribute: Int16(index + 1)))
                }
                for name in Self.outputNames(definition, count: entries.count).enumerated() where entries[name.offset].tainted {
                    if let text = name.element { names.insert(text) }
                }
            }
            if (sources.count, names.count) == before { break }
        }
        taintedNames = names.subtracting(maskedNames.map { $0.lowercased() })
        viewDefinitions = [:]
    }

    /// The output names of a view's SELECT (`AS` names, or the column's own), as far as
    /// they read off its targets.
    static func outputNames(_ definition: String, count: Int) -> [String?] {
        guard case .success(let tree) = PgQuery.parse(definition),
              let select = tree["stmts"]?.elements.first?["stmt"]?.node, select.type == "SelectStmt" else {
            return Array(repeating: nil, count: count)
        }
        var targets = select.fields["targetList"]?.elements ?? []
        var larg = select.fields["larg"]
        while targets.isEmpty, let left = larg {
            targets = left["targetList"]?.elements ?? []
            larg = left["larg"]
        }
        return targets.map { target in
            let fields = target.node?.fields
            if let name = fields?["name"]?.stringValue { return name.lowercased() }
            return fields?["val"]?.node?.fields["fields"]?.elements.last?.node?.fields["sval"]?.stringValue?.lowercased()
        }
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

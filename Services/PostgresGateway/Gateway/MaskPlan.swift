import GatewayMasking
import GatewayPolicy
import PostgresWire

/// Per result set: what to do with each column's values.
struct MaskPlan: Sendable {
    enum Action: Sendable, Equatable {
        case keep, wholeText, wholeBinary, scan
        /// A binary value of a type that can hold text (arrays, records, bytea, tsvector,
        /// ...): scanned, matches overwritten in place so the layout stays valid.
        case scanInPlace
    }

    let columns: [ResultColumn]?
    /// The statement the plan was made for (its text), when its lineage decided columns.
    let command: String?
    var tracesLineage: Bool { command != nil }
    private let actions: [Action]
    private let fallback: Action

    /// `sources`: the table columns masked by name, so an alias of one is masked too.
    /// `lineage`: which of the statement's outputs are computed from a masked column.
    init(
        columns: [ResultColumn]?, policy: MaskingPolicy, sources: MaskedColumnSources = MaskedColumnSources(),
        command: String? = nil, lineage: MaskLineage.Outputs = .none
    ) {
        self.columns = columns
        self.command = command
        // Masked column names are also looked for as keys inside JSON values (`json_agg(t)`).
        let scans = !policy.entities.isEmpty || !policy.patterns.isEmpty || !policy.columns.isEmpty
        fallback = scans ? .scan : .keep
        let tainted = Self.tainted(lineage, columns: columns ?? [])
        actions = (columns ?? []).enumerated().map { index, column in
            if policy.masksColumn(named: column.name) || sources.contains(column) || tainted[index] {
                return column.format == 0 ? .wholeText : .wholeBinary
            }
            // Binary values of textual types are their UTF-8 text: scanned like text. Fixed
            // layouts (numbers, dates, booleans, uuids) hold no text; anything else may.
            if column.format != 0 && !Self.textualTypes.contains(column.typeOID) {
                if Self.fixedBinaryTypes.contains(column.typeOID) { return .keep }
                return scans ? .scanInPlace : .keep
            }
            return scans ? .scan : .keep
        }
    }

    /// Which result columns the lineage taints. Targets map to columns in order, a `*` to as
    /// many columns as the result has beyond the other targets; when they cannot be matched
    /// up (several stars, a count that differs) or the lineage is unknown, every computed
    /// column (one without a table column of origin) is taken as tainted if any could be.
    static func tainted(_ lineage: MaskLineage.Outputs, columns: [ResultColumn]) -> [Bool] {
        let computed = columns.map { $0.tableOID == 0 }
        switch lineage {
        case .none:
            return columns.map { _ in false }
        case .unknown:
            return computed
        case .entries(let entries):
            guard entries.contains(where: \.tainted) else { return columns.map { _ in false } }
            let stars = entries.filter(\.isStar).count
            let width = columns.count - (entries.count - stars)
            guard stars <= 1, width >= 0, stars == 1 || width == 0 else { return computed }
            var result: [Bool] = []
            for entry in entries {
                if entry.isStar {
                    result += Array(repeating: entry.tainted, count: width)
                } else {
                    result.append(entry.tainted)
                }
            }
            return result.count == columns.count ? result : computed
        }
    }

    /// bool, int2, int4, int8, oid, float4, float8, money, date, time, timestamp,
    /// timestamptz, interval, timetz, uuid, numeric, xid, cid, tid, pg_lsn, inet/cidr are
    /// printed from numbers in binary, and macaddr.
    static let fixedBinaryTypes: Set<UInt32> = [16, 21, 23, 20, 26, 700, 701, 790, 1082, 1083, 1114, 1184, 1186, 1266, 2950, 1700, 28, 29, 27, 3220, 869, 650, 829, 774]

    /// text, varchar, bpchar, name, json, jsonb (a version byte, then text), xml, unknown, citext-like domains are not known here.
    static let textualTypes: Set<UInt32> = [25, 1043, 1042, 19, 114, 3802, 142, 705]

    /// Unknown columns (no RowDescription seen) are scanned as text: protection first.
    func action(for index: Int) -> Action {
        index < actions.count ? actions[index] : fallback
    }
}

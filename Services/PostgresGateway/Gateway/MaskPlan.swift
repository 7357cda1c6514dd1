import GatewayMasking
import GatewayPolicy
import PostgresWire

/// Per result set: what to do with each column's values.
struct MaskPlan: Sendable {
    enum Action: Sendable, Equatable {
        case keep, wholeText, wholeBinary, scan
    }

    let columns: [ResultColumn]?
    /// The statement the plan was made for (its text), for the lineage.
    let command: String?
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
            // Binary values of textual types are their UTF-8 text: scanned like text.
            if column.format != 0 && !Self.textualTypes.contains(column.typeOID) { return .keep }
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

    /// text, varchar, bpchar, name, json, jsonb (a version byte, then text), xml, unknown, citext-like domains are not known here.
    static let textualTypes: Set<UInt32> = [25, 1043, 1042, 19, 114, 3802, 142, 705]

    /// Unknown columns (no RowDescription seen) are scanned as text: protection first.
    func action(for index: Int) -> Action {
        index < actions.count ? actions[index] : fallback
    }
}

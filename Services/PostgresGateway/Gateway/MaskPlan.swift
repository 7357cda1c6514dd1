import GatewayMasking
import PostgresWire

/// Per result set: what to do with each column's values.
struct MaskPlan: Sendable {
    enum Action: Sendable, Equatable {
        case keep, wholeText, wholeBinary, scan
    }

    let columns: [ResultColumn]?
    private let actions: [Action]
    private let fallback: Action

    /// `sources`: the table columns masked by name, so an alias of one is masked too.
    init(columns: [ResultColumn]?, policy: MaskingPolicy, sources: MaskedColumnSources = MaskedColumnSources()) {
        self.columns = columns
        // Masked column names are also looked for as keys inside JSON values (`json_agg(t)`).
        let scans = !policy.entities.isEmpty || !policy.patterns.isEmpty || !policy.columns.isEmpty
        fallback = scans ? .scan : .keep
        actions = (columns ?? []).map { column in
            if policy.masksColumn(named: column.name) || sources.contains(column) { return column.format == 0 ? .wholeText : .wholeBinary }
            // Binary values of textual types are their UTF-8 text: scanned like text.
            if column.format != 0 && !Self.textualTypes.contains(column.typeOID) { return .keep }
            return scans ? .scan : .keep
        }
    }

    /// text, varchar, bpchar, name, json, jsonb (a version byte, then text), xml, unknown, citext-like domains are not known here.
    static let textualTypes: Set<UInt32> = [25, 1043, 1042, 19, 114, 3802, 142, 705]

    /// Unknown columns (no RowDescription seen) are scanned as text: protection first.
    func action(for index: Int) -> Action {
        index < actions.count ? actions[index] : fallback
    }
}

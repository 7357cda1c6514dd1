import GatewayConfig
import GatewayMasking
import GatewayPolicy
import GatewaySession
import NIOCore
import PostgresWire

/// Masks what the server sends a masked session before the client sees it: row values by the
/// result's columns (a masked column, an alias of one, a value computed from one, JSON keys
/// that name one) and by the detectors; every free-text field of errors and notices; the
/// payload and channel of notifications; reported settings; COPY data. What it hid is tallied
/// (metrics now, one `mask` audit per result or error).
///
/// Not `Sendable`: used on the session's event loop only.
final class ResultMasker {
    let engine: MaskingEngine
    let policy: MaskingPolicy
    /// Masked column names as keys inside JSON values (`json_agg(t)`, `row_to_json(c)`).
    private let jsonFields: JSONFieldMasker
    /// The table columns masked by name, for masking them under an alias too.
    private let sources: MaskedColumnSources
    /// Masked column names, and view columns computed from them, for the lineage.
    private let maskedNames: Set<String>
    private var plan: MaskPlan
    private var lineageCache: [String: MaskLineage.Outputs] = [:]
    /// Cursors and prepared statements of the session, for the lineage of FETCH and EXECUTE.
    private var definitions = MaskLineage.Definitions()
    /// The values of the DataRow being masked, kept for every row (emptied after each, so the
    /// slices do not pin the receive buffer).
    private var values: [ByteBuffer?] = []
    private(set) var tally: MaskingTally

    init(connection: ConnectionConfiguration, sources: MaskedColumnSources, tally: MaskingTally) {
        self.engine = MaskingEngine(policy: connection.masking)
        self.policy = connection.masking
        self.jsonFields = JSONFieldMasker(keys: connection.masking.columns)
        self.sources = sources
        self.maskedNames = Set(connection.masking.columns).union(sources.taintedNames)
        self.plan = MaskPlan(columns: nil, policy: connection.masking, sources: sources)
        self.tally = tally
    }

    var isEmpty: Bool { policy.isEmpty }
    var scansValues: Bool { engine.scansValues }

    /// Ends a result or an error: audits what was masked in it; the counts, for its recording.
    func close(command: String?) -> [String: Int]? {
        tally.close(command: command)
    }

    // MARK: - Rows

    /// A DataRow as the client may see it; the masked values go into `sample` when it wants
    /// more (and the session is recorded).
    func mask(row frame: PostgresFrame, columns: [ResultColumn]?, command: String?, sample: inout ResultSample, recorded: Bool) throws -> PostgresFrame {
        // Lineage only decides computed columns (a column the server names a table column of
        // origin is masked, or not, by that column): a plan without them serves every
        // statement with the same columns.
        if plan.columns != columns || (plan.tracesLineage && plan.command != command) {
            var computed = true
            if let known = columns { computed = known.contains { column in column.tableOID == 0 } }
            let traced = computed && !policy.columns.isEmpty
            plan = MaskPlan(columns: columns, policy: policy, sources: sources, command: traced ? command : nil, lineage: traced ? lineage(of: command) : .none)
        }
        defer { values.removeAll(keepingCapacity: true) }
        try RowMessages.parseDataRow(frame, into: &values)
        let changed = maskValues()
        if recorded, sample.wantsMore { sample.add(values, columns: columns) }
        return changed ? RowMessages.dataRow(values) : frame
    }

    /// An unmasked session's row, for the recording's sample.
    func sample(row frame: PostgresFrame, columns: [ResultColumn]?, into sample: inout ResultSample) {
        defer { values.removeAll(keepingCapacity: true) }
        if (try? RowMessages.parseDataRow(frame, into: &values)) != nil { sample.add(values, columns: columns) }
    }

    /// Masks the row's values in place; true when any changed.
    private func maskValues() -> Bool {
        var changed = false
        var hits = MaskingHits()
        for index in values.indices {
            guard let value = values[index] else { continue }
            let action = plan.action(for: index)
            switch action {
            case .keep:
                continue
            case .wholeText:
                values[index] = ByteBuffer(string: MaskingPolicy.columnPlaceholder)
                hits.record("COLUMN")
                changed = true
            case .wholeBinary:
                values[index] = nil
                hits.record("COLUMN")
                changed = true
            case .scan, .scanInPlace:
                let inPlace = action == .scanInPlace
                let masked = Self.withBytes(of: value) { inPlace ? engine.maskPreservingLength($0, hits: &hits) : scan($0, hits: &hits) }
                if let masked {
                    values[index] = ByteBuffer(bytes: masked)
                    changed = true
                }
            }
        }
        if changed { tally.count(hits) }
        return changed
    }

    /// A value scanned for masked columns as JSON keys, then by the detectors (over what the
    /// first pass left); nil when neither changed anything.
    private func scan(_ value: UnsafeBufferPointer<UInt8>, hits: inout MaskingHits) -> [UInt8]? {
        guard let fields = jsonFields.mask(value, hits: &hits) else { return engine.mask(value, hits: &hits) }
        return engine.mask(fields, hits: &hits) ?? fields
    }

    // MARK: - Lineage

    static let fetchWord = Array("fetch".utf8)
    static let executeWord = Array("execute".utf8)
    static let declareWord = Array("declare".utf8)
    static let prepareWord = Array("prepare".utf8)

    /// On a connection with column masking, the cursors and prepared statements a statement
    /// sent upstream defines (their later FETCH or EXECUTE is masked by their outputs).
    func noteDefinitions(_ query: String) {
        guard !policy.columns.isEmpty,
              ASCIISearch.contains(Self.declareWord, in: query) || ASCIISearch.contains(Self.prepareWord, in: query) else { return }
        MaskLineage.define(query, maskedColumns: maskedNames, into: &definitions)
    }

    /// The lineage of a statement's outputs on a connection with column masking (cached by
    /// statement text: a session repeats its statements).
    private func lineage(of command: String?) -> MaskLineage.Outputs {
        guard !policy.columns.isEmpty else { return .none }
        guard let command else { return .unknown }
        if let known = lineageCache[command] { return known }
        let outputs = MaskLineage.outputs(of: command, maskedColumns: maskedNames, definitions: definitions)
        // FETCH and EXECUTE depend on what was defined under their name: not cached.
        if ASCIISearch.contains(Self.fetchWord, in: command) || ASCIISearch.contains(Self.executeWord, in: command) { return outputs }
        if lineageCache.count >= 256 { lineageCache.removeAll(keepingCapacity: true) }
        lineageCache[command] = outputs
        return outputs
    }

    // MARK: - Messages

    /// Every field of an ErrorResponse or NoticeResponse but severity and SQLSTATE: a RAISE
    /// can put a value in any of them (message, detail, hint, context, internal query, schema,
    /// table, column, data type, constraint names, file, routine).
    static let textFields: [Character] = ["M", "D", "H", "W", "q", "s", "t", "c", "d", "n", "F", "R", "P", "p", "L"]

    /// Masks the free-text fields of an ErrorResponse or NoticeResponse.
    func mask(message frame: PostgresFrame) -> PostgresFrame {
        guard engine.scansValues else { return frame }
        let fields = BackendMessages.parseFields(frame)
        var masked = fields
        var hits = MaskingHits()
        for key in Self.textFields {
            guard let value = fields[key] else { continue }
            let text = engine.mask(value, hits: &hits)
            if text != value { masked[key] = text }
        }
        guard !hits.isEmpty else { return frame }
        tally.count(hits)
        var payload = ByteBuffer()
        for (key, value) in masked.sorted(by: { $0.key < $1.key }) {
            payload.writeInteger(key.asciiValue ?? UInt8(ascii: "M"))
            payload.writeString(value)
            payload.writeInteger(UInt8(0))
        }
        payload.writeInteger(UInt8(0))
        return PostgresFrame(type: frame.type, payload: payload)
    }

    /// Masks a NotificationResponse's payload and channel (a name the query chose: NOTIFY
    /// "jane@example.com"); the process ID stays.
    func mask(notification frame: PostgresFrame) throws(PostgresProtocolError) -> PostgresFrame {
        var notification = try BackendMessages.parseNotification(frame)
        var hits = MaskingHits()
        let payload = engine.mask(notification.payload, hits: &hits)
        let channel = engine.mask(notification.channel, hits: &hits)
        guard !hits.isEmpty else { return frame }
        tally.count(hits)
        notification.payload = payload
        notification.channel = channel
        return BackendMessages.notification(notification)
    }

    /// A reported setting's value is a value a query chose (`SET application_name = email`):
    /// scanned like one.
    func mask(parameterStatus frame: PostgresFrame, name: String, value: String) -> PostgresFrame {
        guard engine.scansValues else { return frame }
        var hits = MaskingHits()
        let masked = engine.mask(value, hits: &hits)
        guard !hits.isEmpty else { return frame }
        tally.count(hits)
        return BackendMessages.parameterStatus(name, masked)
    }

    /// COPY ... TO STDOUT data, scanned as values are.
    func mask(copyData frame: PostgresFrame) -> PostgresFrame {
        var hits = MaskingHits()
        guard let masked = Self.withBytes(of: frame.payload, { engine.mask($0, hits: &hits) }) else { return frame }
        tally.count(hits)
        return PostgresFrame(type: frame.type, payload: ByteBuffer(bytes: masked))
    }

    /// A buffer's readable bytes as one contiguous buffer (copied only when they are not).
    static func withBytes<Result>(of buffer: ByteBuffer, _ body: (UnsafeBufferPointer<UInt8>) -> Result) -> Result {
        let view = buffer.readableBytesView
        return view.withContiguousStorageIfAvailable(body) ?? Array(view).withUnsafeBufferPointer(body)
    }
}

import NIOCore
import PostgresWire

/// Keeps the first rows of a result, as text, for the session recording: at most
/// `maximumRows` rows and `maximumBytes` bytes of values, so recording a huge result costs
/// a bounded amount. Binary values are recorded as `<binary N bytes>`.
struct ResultSample: Sendable {
    static let maximumRows = 100
    static let maximumBytes = 32 * 1024

    private var columns: [String]?
    private var rows: [[String?]] = []
    private var bytes = 0
    private var truncated = false

    /// Whether another row would be kept (false once the caps are reached).
    var wantsMore: Bool { !truncated && rows.count < Self.maximumRows && bytes < Self.maximumBytes }

    /// Adds a row's values (as the client received them) while the sample has room.
    mutating func add(_ values: [ByteBuffer?], columns described: [ResultColumn]?) {
        if columns == nil, let described { columns = described.map(\.name) }
        guard wantsMore else {
            truncated = true
            return
        }
        var row: [String?] = []
        row.reserveCapacity(values.count)
        for (index, value) in values.enumerated() {
            guard let value else {
                row.append(nil)
                continue
            }
            let binary = (described.flatMap { index < $0.count ? $0[index].format : nil } ?? 0) != 0
            let text = binary ? "<binary \(value.readableBytes) bytes>" : String(buffer: value)
            bytes += text.utf8.count
            row.append(text)
        }
        rows.append(row)
    }

    /// The sample so far, and a fresh start for the next result.
    mutating func take() -> (columns: [String]?, values: [[String?]]?) {
        defer { self = ResultSample() }
        return (columns, rows.isEmpty ? nil : rows)
    }
}

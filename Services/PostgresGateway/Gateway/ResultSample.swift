import GatewayJSON
import NIOCore
import PostgresWire

/// Keeps the first rows of a result, as text, for the session recording: at most
/// `maximumRows` rows, about `maximumBytes` bytes and `maximumCellBytes` of any one cell, so
/// recording a huge result costs a bounded amount. Cells are written as JSON straight from
/// the wire (no String per cell); binary values are recorded as `<binary N bytes>`, text that
/// is not valid UTF-8 with replacement characters, a longer cell as its start and `… [N bytes]`.
struct ResultSample: Sendable {
    static let maximumRows = 100
    static let maximumBytes = 32 * 1024
    /// A longer cell is cut in the sample (the client gets it whole): a row is added whole
    /// while the sample has room, and one huge value would otherwise be copied whole.
    static let maximumCellBytes = 4096

    private var columns: [String]?
    /// The last result's columns and their names, kept across results: a session that runs
    /// the same query again gets the same names array without building it.
    private var names: (columns: [ResultColumn], names: [String])?
    /// `[...],[...]`: the rows so far, as JSON arrays.
    private var rows: [UInt8] = []
    private var rowCount = 0

    /// Whether another row would be kept (false once the caps are reached).
    var wantsMore: Bool { rowCount < Self.maximumRows && rows.count < Self.maximumBytes }

    /// Adds a row's values (as the client received them) while the sample has room.
    mutating func add(_ values: [ByteBuffer?], columns described: [ResultColumn]?) {
        if columns == nil, let described {
            if let names, names.columns == described {
                columns = names.names
            } else {
                let built = described.map(\.name)
                names = (described, built)
                columns = built
            }
        }
        guard wantsMore else { return }
        if rowCount > 0 { rows.append(UInt8(ascii: ",")) }
        rows.append(UInt8(ascii: "["))
        for (index, value) in values.enumerated() {
            if index > 0 { rows.append(UInt8(ascii: ",")) }
            guard let value else {
                rows.append(contentsOf: "null".utf8)
                continue
            }
            let binary = (described.flatMap { index < $0.count ? $0[index].format : nil } ?? 0) != 0
            if binary {
                JSONString.append("<binary \(value.readableBytes) bytes>", to: &rows)
                continue
            }
            if value.readableBytes > Self.maximumCellBytes {
                appendCut(value)
                continue
            }
            let written: Bool? = value.readableBytesView.withContiguousStorageIfAvailable { bytes in
                guard JSONString.isASCII(bytes) else { return false }
                JSONString.append(utf8: bytes, to: &rows)
                return true
            }
            if written != true { JSONString.append(String(buffer: value), to: &rows) }
        }
        rows.append(UInt8(ascii: "]"))
        rowCount += 1
    }

    /// A cell longer than `maximumCellBytes`: its first bytes (cut back to a whole UTF-8
    /// character) and `… [N bytes]`, N being the cell's whole length.
    private mutating func appendCut(_ value: ByteBuffer) {
        let view = value.readableBytesView
        var end = view.startIndex + Self.maximumCellBytes
        // Back to the start of a character: at most three continuation bytes (10xxxxxx).
        var steps = 0
        while steps < 3, end > view.startIndex, view[end] & 0xC0 == 0x80 {
            end -= 1
            steps += 1
        }
        let kept = String(decoding: view[view.startIndex..<end], as: UTF8.self)
        JSONString.append(kept + "… [\(value.readableBytes) bytes]", to: &rows)
    }

    /// The sample so far (rows as JSON, nil when there were none), and a fresh start for the next result.
    mutating func take() -> (columns: [String]?, rows: [UInt8]?) {
        finish { ($0, $1) }
    }

    /// Hands the sample so far (rows as JSON, nil when there were none) to `body`, then starts
    /// afresh for the next result. The rows' storage is kept (up to `keptCapacity`), so a
    /// session of small results costs no allocation per result once `body` has let go of the rows.
    mutating func finish<R>(_ body: (_ columns: [String]?, _ rows: [UInt8]?) -> R) -> R {
        let result = body(columns, rowCount == 0 ? nil : rows)
        columns = nil
        rowCount = 0
        if rows.capacity > Self.keptCapacity { rows = [] } else { rows.removeAll(keepingCapacity: true) }
        return result
    }

    /// Rows' storage kept from one result to the next: a session that sampled a large result
    /// does not hold its bytes while idle.
    static let keptCapacity = 8 * 1024
}

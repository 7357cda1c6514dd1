import Foundation
import GRDB
import GRDBSQLite

/// Writes a batch of audit events into SQLite's `audit_events`, many rows per INSERT, binding
/// values with SQLite's own calls: GRDB's `StatementArguments` (an array of boxed values per
/// row) cost more than the insert itself at tens of thousands of events per second.
enum SQLiteAuditInsert {
    static let rowsPerInsert = 64

    static func sql(rows: Int) -> String {
        let row = "(" + Array(repeating: "?", count: AuditEvent.storeColumnCount).joined(separator: ", ") + ")"
        return "INSERT INTO audit_events (\(AuditEvent.storeColumns)) VALUES " + Array(repeating: row, count: rows).joined(separator: ", ")
    }

    /// One value of an INSERT, in binding order: text lies in the batch's byte array.
    private enum Value {
        case text(Range<Int>)
        case real(Double)
        case null
    }

    /// Inserts `events` inside the caller's transaction. Each INSERT's text values are first
    /// written one after another into one byte array, then bound in place (`SQLITE_STATIC`)
    /// for that one step: SQLite does not copy them (a copy was an allocation per value,
    /// nine per event).
    static func insert(_ events: [AuditEvent], into db: Database) throws {
        var arena: [UInt8] = []
        var values: [Value] = []
        for chunk in AuditEvent.batches(events, of: rowsPerInsert) {
            arena.removeAll(keepingCapacity: true)
            values.removeAll(keepingCapacity: true)
            // Through the buffer's pointer: the fields are read in place, where `for event in
            // chunk` copied every event (and released it again).
            chunk.withUnsafeBufferPointer { events in
                for index in events.indices {
                    append(events[index].id, to: &arena, values: &values)
                    values.append(.real(events[index].time.timeIntervalSince1970))
                    events[index].forEachStoreText { append($0, to: &arena, values: &values) }
                    let start = arena.count
                    events[index].appendStoreBody(to: &arena)
                    values.append(.text(start..<arena.count))
                }
            }
            let statement = try db.cachedStatement(sql: sql(rows: chunk.count))
            let handle = statement.sqliteStatement
            let code = arena.withUnsafeBytes { bytes -> Int32 in
                // An empty array has no address; then every text is empty and a literal's serves.
                let base = (bytes.baseAddress ?? UnsafeRawPointer(Self.emptyText.utf8Start)).assumingMemoryBound(to: CChar.self)
                for (offset, value) in values.enumerated() {
                    let column = Int32(offset + 1)
                    switch value {
                    case .text(let range): _ = sqlite3_bind_text(handle, column, base + range.lowerBound, Int32(range.count), staticText)
                    case .real(let number): sqlite3_bind_double(handle, column, number)
                    case .null: sqlite3_bind_null(handle, column)
                    }
                }
                let code = sqlite3_step(handle)
                // No binding may point into the arena once this closure returns.
                sqlite3_reset(handle)
                sqlite3_clear_bindings(handle)
                return code
            }
            guard code == SQLITE_DONE else {
                throw DatabaseError(resultCode: ResultCode(rawValue: code), message: String(cString: sqlite3_errmsg(db.sqliteConnection)), sql: statement.sql)
            }
        }
    }

    private static func append(_ text: String?, to arena: inout [UInt8], values: inout [Value]) {
        guard let text else {
            values.append(.null)
            return
        }
        let start = arena.count
        arena.append(contentsOf: text.utf8)
        values.append(.text(start..<arena.count))
    }

    /// Bytes SQLite reads in place, valid until the statement is reset and its bindings cleared.
    private static let staticText = unsafeBitCast(OpaquePointer(bitPattern: 0), to: sqlite3_destructor_type.self)
    /// A literal's bytes live as long as the program.
    private static let emptyText: StaticString = ""
}

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

    /// Inserts `events` inside the caller's transaction. Each INSERT's text values are first
    /// written one after another into one byte array, then bound in place (`SQLITE_STATIC`)
    /// for that one step: SQLite does not copy them (a copy was an allocation per value,
    /// nine per event).
    static func insert(_ events: [AuditEvent], into db: Database) throws {
        var arena: [UInt8] = []
        /// Where each text value lies in `arena`, in binding order; nil binds NULL.
        var spans: [Range<Int>?] = []
        var times: [Double] = []
        for chunk in AuditEvent.batches(events, of: rowsPerInsert) {
            arena.removeAll(keepingCapacity: true)
            spans.removeAll(keepingCapacity: true)
            times.removeAll(keepingCapacity: true)
            // Through the buffer's pointer: the fields are read in place, where `for event in
            // chunk` copied every event (and released it again).
            chunk.withUnsafeBufferPointer { events in
                for index in events.indices {
                    append(events[index].id, to: &arena, spans: &spans)
                    times.append(events[index].time.timeIntervalSince1970)
                    events[index].forEachStoreText { append($0, to: &arena, spans: &spans) }
                    let start = arena.count
                    events[index].appendStoreBody(to: &arena)
                    spans.append(start..<arena.count)
                }
            }
            let statement = try db.cachedStatement(sql: sql(rows: chunk.count))
            let handle = statement.sqliteStatement
            let code = arena.withUnsafeBufferPointer { bytes -> Int32 in
                let base = UnsafeRawPointer(bytes.baseAddress ?? UnsafePointer(Self.empty)).assumingMemoryBound(to: CChar.self)
                var column: Int32 = 1
                var span = 0
                func bindNext() {
                    if let range = spans[span] {
                        _ = sqlite3_bind_text(handle, column, base + range.lowerBound, Int32(range.count), staticText)
                    } else {
                        sqlite3_bind_null(handle, column)
                    }
                    span += 1
                    column += 1
                }
                for time in times {
                    bindNext()  // id
                    sqlite3_bind_double(handle, column, time)
                    column += 1
                    for _ in 0..<AuditEvent.storeTextCount { bindNext() }
                    bindNext()  // body
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

    private static func append(_ value: String?, to arena: inout [UInt8], spans: inout [Range<Int>?]) {
        guard let value else {
            spans.append(nil)
            return
        }
        let start = arena.count
        arena.append(contentsOf: value.utf8)
        spans.append(start..<arena.count)
    }

    /// Bytes SQLite reads in place, valid until the statement is reset and its bindings cleared.
    private static let staticText = unsafeBitCast(OpaquePointer(bitPattern: 0), to: sqlite3_destructor_type.self)
    private static let empty: [UInt8] = [0]
}

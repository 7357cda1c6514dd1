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

    /// Inserts `events` inside the caller's transaction.
    static func insert(_ events: [AuditEvent], into db: Database) throws {
        for chunk in AuditEvent.batches(events, of: rowsPerInsert) {
            let statement = try db.cachedStatement(sql: sql(rows: chunk.count))
            let handle = statement.sqliteStatement
            sqlite3_reset(handle)
            sqlite3_clear_bindings(handle)
            var column: Int32 = 1
            // Through the buffer's pointer: the fields are read in place, where `for event in
            // chunk` copied every event (and released it again).
            chunk.withUnsafeBufferPointer { events in
                for index in events.indices {
                    bind(events[index].id, handle, column)
                    sqlite3_bind_double(handle, column + 1, events[index].time.timeIntervalSince1970)
                    column += 2
                    events[index].forEachStoreText { text in
                        bind(text, handle, column)
                        column += 1
                    }
                    let body = events[index].storeBodyBytes()
                    body.withUnsafeBufferPointer { bytes in
                        _ = sqlite3_bind_text(handle, column, UnsafeRawPointer(bytes.baseAddress!).assumingMemoryBound(to: CChar.self), Int32(bytes.count), transient)
                    }
                    column += 1
                }
            }
            let code = sqlite3_step(handle)
            sqlite3_reset(handle)
            guard code == SQLITE_DONE else {
                throw DatabaseError(resultCode: ResultCode(rawValue: code), message: String(cString: sqlite3_errmsg(db.sqliteConnection)), sql: statement.sql)
            }
        }
    }

    private static func bind(_ value: String?, _ handle: SQLiteStatement, _ index: Int32) {
        guard var value else {
            sqlite3_bind_null(handle, index)
            return
        }
        value.withUTF8 { bytes in
            guard let base = bytes.baseAddress else {
                _ = sqlite3_bind_text(handle, index, "", 0, transient)
                return
            }
            _ = sqlite3_bind_text(handle, index, UnsafeRawPointer(base).assumingMemoryBound(to: CChar.self), Int32(bytes.count), transient)
        }
    }

    /// SQLite copies the bytes before the call returns.
    private static let transient = unsafeBitCast(OpaquePointer(bitPattern: -1), to: sqlite3_destructor_type.self)
}

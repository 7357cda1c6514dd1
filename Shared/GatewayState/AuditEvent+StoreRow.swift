/// The row both state stores keep per audit event: indexed columns beside the JSON document,
/// in one order, so the two INSERTs cannot drift apart.
extension AuditEvent {
    /// The table's columns in the order the stores' INSERTs bind them.
    static let storeColumns = "id, time, service, connection, session_id, subject, email, action, body"
    static let storeColumnCount = 9

    /// The text columns after `id` and `time`, before `body`, in order (no array per event:
    /// the SQLite store binds these for every allowed statement).
    func forEachStoreText(_ body: (String?) -> Void) {
        body(service)
        body(connection)
        body(sessionID)
        body(subject)
        body(email)
        body(action)
    }

    /// `events` cut into slices of at most `size`, in order: one multi-row INSERT each.
    static func batches(_ events: [AuditEvent], of size: Int) -> [ArraySlice<AuditEvent>] {
        stride(from: 0, to: events.count, by: size).map { events[$0..<min($0 + size, events.count)] }
    }
}

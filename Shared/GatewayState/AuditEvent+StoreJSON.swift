import Foundation
import GatewayJSON

/// The stored JSON document of an audit event: only what the row's columns do not hold
/// (groups, command, rule, detail, client address). Every allowed statement writes a row, so
/// repeating the columns in the document would cost a third of the store's work.
extension AuditEvent {
    /// The document, written by hand (JSONEncoder cost more than the insert).
    func storeBody() -> String {
        String(decoding: storeBodyBytes(), as: UTF8.self)
    }

    /// The document as UTF-8 bytes.
    func storeBodyBytes() -> [UInt8] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(64 + (command?.utf8.count ?? 0) + (detail?.utf8.count ?? 0))
        appendStoreBody(to: &bytes)
        return bytes
    }

    /// The document's bytes appended to `bytes` (a batch's buffer of values).
    func appendStoreBody(to bytes: inout [UInt8]) {
        var out = JSONObjectWriter(takingOver: &bytes)
        out.string("client_address", clientAddress)
        out.string("command", command)
        out.string("detail", detail)
        out.strings("groups", groups)
        out.string("rule", rule)
        out.finish(into: &bytes)
    }

    /// An event read back from its row. Rows written before the document was slimmed hold
    /// the whole event in `body`; their columns carry the same values, so both read alike.
    init(
        storeID id: String, time: Double, service: String, connection: String?, sessionID: String?,
        subject: String?, email: String?, action: String, body: String
    ) throws {
        let document = try StoreCoding.decode(StoredAuditDocument.self, body)
        self.init(
            action: action, id: id, time: Date(timeIntervalSince1970: time), service: service, connection: connection,
            sessionID: sessionID, subject: subject, email: email, groups: document.groups ?? [], command: document.command,
            rule: document.rule, detail: document.detail, clientAddress: document.clientAddress
        )
    }
}

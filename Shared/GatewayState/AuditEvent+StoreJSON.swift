import Foundation
import GatewayJSON

extension AuditEvent {
    /// The stored JSON document, written by hand (JSONEncoder cost more than the insert):
    /// the same keys and shapes `StoreCoding` reads back (time as seconds since 1970).
    func storeJSON() -> String {
        String(decoding: storeJSONBytes(), as: UTF8.self)
    }

    /// The stored document as UTF-8 bytes.
    func storeJSONBytes() -> [UInt8] {
        var out = JSONObjectWriter(capacity: 256 + (command?.utf8.count ?? 0) + (detail?.utf8.count ?? 0))
        out.string("action", action)
        out.string("client_address", clientAddress)
        out.string("command", command)
        out.string("connection", connection)
        out.string("detail", detail)
        out.string("email", email)
        out.strings("groups", groups)
        out.string("id", id)
        out.string("rule", rule)
        out.string("service", service)
        out.string("session_id", sessionID)
        out.string("sub", subject)
        out.number("time", time.timeIntervalSince1970)
        return out.finish()
    }
}

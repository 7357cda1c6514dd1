import Foundation
import GatewayJSON

extension AuditEvent {
    /// The stored JSON document, written by hand (JSONEncoder cost more than the insert):
    /// the same keys and shapes `StoreCoding` reads back (time as seconds since 1970).
    func storeJSON() -> String {
        var out: [UInt8] = []
        out.reserveCapacity(256 + (command?.utf8.count ?? 0) + (detail?.utf8.count ?? 0))
        out.append(UInt8(ascii: "{"))
        var first = true
        func key(_ name: StaticString) {
            if !first { out.append(UInt8(ascii: ",")) }
            first = false
            out.append(UInt8(ascii: "\""))
            out.append(contentsOf: UnsafeBufferPointer(start: name.utf8Start, count: name.utf8CodeUnitCount))
            out.append(contentsOf: [UInt8(ascii: "\""), UInt8(ascii: ":")])
        }
        func string(_ name: StaticString, _ value: String?) {
            guard let value else { return }
            key(name)
            JSONString.append(value, to: &out)
        }
        string("action", action)
        string("client_address", clientAddress)
        string("command", command)
        string("connection", connection)
        string("detail", detail)
        string("email", email)
        key("groups")
        out.append(UInt8(ascii: "["))
        for (index, group) in groups.enumerated() {
            if index > 0 { out.append(UInt8(ascii: ",")) }
            JSONString.append(group, to: &out)
        }
        out.append(UInt8(ascii: "]"))
        string("id", id)
        string("rule", rule)
        string("service", service)
        string("session_id", sessionID)
        string("sub", subject)
        key("time")
        out.append(contentsOf: "\(time.timeIntervalSince1970)".utf8)
        out.append(UInt8(ascii: "}"))
        return String(decoding: out, as: UTF8.self)
    }
}

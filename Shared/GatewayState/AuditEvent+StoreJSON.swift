import Foundation

extension AuditEvent {
    /// The stored JSON document, written by hand (JSONEncoder cost more than the insert):
    /// the same keys and shapes `StoreCoding` reads back (time as seconds since 1970).
    func storeJSON() -> String {
        var out = "{"
        var first = true
        func key(_ name: String) {
            if !first { out += "," }
            first = false
            out += "\"\(name)\":"
        }
        func string(_ name: String, _ value: String?) {
            guard let value else { return }
            key(name)
            Self.appendQuoted(value, to: &out)
        }
        string("action", action)
        string("client_address", clientAddress)
        string("command", command)
        string("connection", connection)
        string("detail", detail)
        string("email", email)
        key("groups")
        out += "["
        for (index, group) in groups.enumerated() {
            if index > 0 { out += "," }
            Self.appendQuoted(group, to: &out)
        }
        out += "]"
        string("id", id)
        string("rule", rule)
        string("service", service)
        string("session_id", sessionID)
        string("sub", subject)
        key("time")
        out += "\(time.timeIntervalSince1970)"
        out += "}"
        return out
    }

    static func appendQuoted(_ text: String, to out: inout String) {
        out += "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where scalar.value < 0x20 || scalar.value == 0x7F:
                out += String(format: "\\u%04x", scalar.value)
            default:
                out.unicodeScalars.append(scalar)
            }
        }
        out += "\""
    }
}

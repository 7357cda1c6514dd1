import Foundation
import GatewayJSON

extension RecordingEvent {
    /// The event as one `events.jsonl` line (keys sorted, no trailing newline), written by
    /// hand: JSONEncoder cost more than the relay itself on every statement.
    func jsonLine() -> [UInt8] {
        var out: [UInt8] = [UInt8(ascii: "{")]
        out.reserveCapacity(160 + (command?.utf8.count ?? 0))
        var first = true
        func key(_ name: String) {
            if !first { out.append(UInt8(ascii: ",")) }
            first = false
            out.append(UInt8(ascii: "\""))
            out.append(contentsOf: name.utf8)
            out.append(contentsOf: "\":".utf8)
        }
        func string(_ name: String, _ value: String?) {
            guard let value else { return }
            key(name)
            JSONString.append(value, to: &out)
        }
        func number(_ name: String, _ value: (some CustomStringConvertible)?) {
            guard let value else { return }
            key(name)
            out.append(contentsOf: value.description.utf8)
        }
        // Sorted keys, as JSONEncoder with .sortedKeys wrote them.
        if let columns {
            key("columns")
            out.append(UInt8(ascii: "["))
            for (index, column) in columns.enumerated() {
                if index > 0 { out.append(UInt8(ascii: ",")) }
                JSONString.append(column, to: &out)
            }
            out.append(UInt8(ascii: "]"))
        }
        string("command", command)
        string("decision", decision)
        string("detail", detail)
        if let durationMS { number("duration_ms", (durationMS * 1000).rounded() / 1000) }
        string("error", error)
        number("exit_status", exitStatus)
        if let masked {
            key("masked")
            out.append(UInt8(ascii: "{"))
            for (index, entry) in masked.sorted(by: { $0.key < $1.key }).enumerated() {
                if index > 0 { out.append(UInt8(ascii: ",")) }
                JSONString.append(entry.key, to: &out)
                out.append(UInt8(ascii: ":"))
                out.append(contentsOf: String(entry.value).utf8)
            }
            out.append(UInt8(ascii: "}"))
        }
        string("review_id", reviewID)
        number("rows", rows)
        string("rule", rule)
        string("signal", signal)
        key("time")
        out.append(UInt8(ascii: "\""))
        RecordingCoding.appendTimestamp(time, to: &out)
        out.append(UInt8(ascii: "\""))
        string("type", type)
        if let values {
            key("values")
            out.append(UInt8(ascii: "["))
            for (rowIndex, row) in values.enumerated() {
                if rowIndex > 0 { out.append(UInt8(ascii: ",")) }
                out.append(UInt8(ascii: "["))
                for (index, value) in row.enumerated() {
                    if index > 0 { out.append(UInt8(ascii: ",")) }
                    if let value { JSONString.append(value, to: &out) } else { out.append(contentsOf: "null".utf8) }
                }
                out.append(UInt8(ascii: "]"))
            }
            out.append(UInt8(ascii: "]"))
        }
        out.append(UInt8(ascii: "}"))
        return out
    }
}

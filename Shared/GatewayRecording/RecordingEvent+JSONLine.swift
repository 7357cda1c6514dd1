import Foundation
import GatewayJSON

extension RecordingEvent {
    /// The event as one `events.jsonl` line (keys sorted, no trailing newline), written by
    /// hand: JSONEncoder cost more than the relay itself on every statement.
    func jsonLine() -> [UInt8] {
        var line: [UInt8] = []
        var timestamps = TimestampWriter()
        appendJSONLine(to: &line, timestamps: &timestamps)
        return line
    }

    /// The line (no newline), appended to `line` (a file's buffer) in place; `timestamps`
    /// carries the time text from one event to the next.
    func appendJSONLine(to line: inout [UInt8], timestamps: inout TimestampWriter) {
        var out = JSONObjectWriter(takingOver: &line)
        // Sorted keys, as JSONEncoder with .sortedKeys wrote them.
        out.strings("columns", columns)
        out.string("command", command)
        out.string("decision", decision)
        out.string("detail", detail)
        out.thousandths("duration_ms", durationMS)
        out.string("error", error)
        out.number("exit_status", exitStatus)
        if let masked {
            out.key("masked")
            out.value { bytes in
                bytes.append(UInt8(ascii: "{"))
                for (index, entry) in masked.sorted(by: { $0.key < $1.key }).enumerated() {
                    if index > 0 { bytes.append(UInt8(ascii: ",")) }
                    JSONString.append(entry.key, to: &bytes)
                    bytes.append(UInt8(ascii: ":"))
                    bytes.append(contentsOf: String(entry.value).utf8)
                }
                bytes.append(UInt8(ascii: "}"))
            }
        }
        out.string("review_id", reviewID)
        out.number("rows", rows)
        out.string("rule", rule)
        out.string("signal", signal)
        out.key("time")
        out.value { bytes in
            bytes.append(UInt8(ascii: "\""))
            timestamps.append(time, to: &bytes)
            bytes.append(UInt8(ascii: "\""))
        }
        out.string("type", type)
        if let encodedValues {
            out.key("values")
            out.value { bytes in
                bytes.append(UInt8(ascii: "["))
                bytes.append(contentsOf: encodedValues)
                bytes.append(UInt8(ascii: "]"))
            }
        } else if let values {
            out.key("values")
            out.appendArray(values) { row, bytes in
                bytes.append(UInt8(ascii: "["))
                for (index, value) in row.enumerated() {
                    if index > 0 { bytes.append(UInt8(ascii: ",")) }
                    if let value { JSONString.append(value, to: &bytes) } else { bytes.append(contentsOf: "null".utf8) }
                }
                bytes.append(UInt8(ascii: "]"))
            }
        }
        out.finish(into: &line)
    }
}

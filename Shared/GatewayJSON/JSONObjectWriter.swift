/// Writes one JSON object by hand, key by key, in the order the caller gives (callers that
/// need sorted keys pass them sorted). Nil values are left out. Used where JSONEncoder cost
/// more than the work around it: recording events and audit documents.
public struct JSONObjectWriter {
    public private(set) var bytes: [UInt8]
    private var first = true

    public init(capacity: Int = 256) {
        bytes = []
        bytes.reserveCapacity(capacity)
        bytes.append(UInt8(ascii: "{"))
    }

    /// Writes the object after `output`'s bytes (a file's buffer), in `output`'s own storage:
    /// the buffer is swapped in, not copied, and `finish(into:)` swaps it back. Reserves
    /// nothing: an exact `reserveCapacity` on a growing buffer would reallocate it on every
    /// object, where appending grows it geometrically.
    public init(takingOver output: inout [UInt8]) {
        bytes = []
        swap(&bytes, &output)
        bytes.append(UInt8(ascii: "{"))
    }

    /// `"name":` (with the separating comma); the caller writes the value next.
    public mutating func key(_ name: StaticString) {
        if !first { bytes.append(UInt8(ascii: ",")) }
        first = false
        bytes.append(UInt8(ascii: "\""))
        bytes.append(contentsOf: UnsafeBufferPointer(start: name.utf8Start, count: name.utf8CodeUnitCount))
        // Two single appends: an array literal here would be allocated for every key.
        bytes.append(UInt8(ascii: "\""))
        bytes.append(UInt8(ascii: ":"))
    }

    public mutating func string(_ name: StaticString, _ value: String?) {
        guard let value else { return }
        key(name)
        JSONString.append(value, to: &bytes)
    }

    /// A number, or any value whose description is valid JSON.
    public mutating func number(_ name: StaticString, _ value: (some CustomStringConvertible)?) {
        guard let value else { return }
        key(name)
        bytes.append(contentsOf: value.description.utf8)
    }

    public mutating func number(_ name: StaticString, _ value: Int?) {
        guard let value else { return }
        key(name)
        JSONNumber.append(value, to: &bytes)
    }

    /// A non-negative decimal with at most three fraction digits (milliseconds with
    /// microsecond resolution), written as the shortest text that reads back as the same
    /// number: `12`, `0.5`, `3.125`.
    public mutating func thousandths(_ name: StaticString, _ value: Double?) {
        guard let value else { return }
        key(name)
        JSONNumber.appendThousandths(value, to: &bytes)
    }

    public mutating func strings(_ name: StaticString, _ values: [String]?) {
        guard let values else { return }
        key(name)
        appendArray(values) { JSONString.append($0, to: &$1) }
    }

    /// `[v, v, ...]` with each element written by `element`.
    public mutating func appendArray<T>(_ values: [T], _ element: (T, inout [UInt8]) -> Void) {
        bytes.append(UInt8(ascii: "["))
        for (index, value) in values.enumerated() {
            if index > 0 { bytes.append(UInt8(ascii: ",")) }
            element(value, &bytes)
        }
        bytes.append(UInt8(ascii: "]"))
    }

    /// A value the caller formats itself, written straight into the output.
    public mutating func value(_ write: (inout [UInt8]) -> Void) {
        write(&bytes)
    }

    /// Closes the object and hands the whole buffer back to `output` (see `init(takingOver:)`).
    public mutating func finish(into output: inout [UInt8]) {
        bytes.append(UInt8(ascii: "}"))
        swap(&bytes, &output)
    }

    /// Closes the object and returns it.
    public mutating func finish() -> [UInt8] {
        bytes.append(UInt8(ascii: "}"))
        return bytes
    }
}

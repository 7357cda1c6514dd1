/// Masks the values of JSON object members whose key is a masked column's name, wherever
/// they appear in a value: `json_agg(t)`, `row_to_json(c)` and `to_jsonb(c)` carry a table's
/// columns as keys, and column masking would otherwise see one JSON column and let the
/// names, emails or salaries inside it through.
///
/// Lenient on purpose: it scans any text for string literals followed by `:`, so a JSON
/// document with text before or after it (`'x' || json_agg(t)::text`) is masked as well.
/// A masked member's value, whatever its kind (string, number, object, array), becomes the
/// string `"[MASKED]"`, so the document stays valid JSON; `null` stays `null`. Keys are
/// compared case-insensitively, as `masking.columns` are.
public struct JSONFieldMasker: Sendable {
    private let keys: Set<String>
    private let longestKey: Int

    public init(keys: some Collection<String>) {
        self.keys = Set(keys.map { $0.lowercased() })
        longestKey = self.keys.map(\.utf8.count).max() ?? 0
    }

    public var isEmpty: Bool { keys.isEmpty }

    static let placeholder = Array("\"\(MaskingPolicy.columnPlaceholder)\"".utf8)

    /// The value with every masked member's value replaced; nil when nothing was masked.
    public func mask(_ bytes: UnsafeBufferPointer<UInt8>, hits: inout MaskingHits) -> [UInt8]? {
        guard !keys.isEmpty, bytes.contains(Self.quote) else { return nil }
        var output: [UInt8]?
        var copied = 0
        var index = 0
        while index < bytes.count {
            guard bytes[index] == Self.quote else {
                index += 1
                continue
            }
            let end = Self.stringEnd(bytes, from: index)
            var next = Self.skipSpace(bytes, from: end)
            guard next < bytes.count, bytes[next] == Self.colon, isMaskedKey(bytes, from: index + 1, to: end - 1) else {
                index = end
                continue
            }
            next = Self.skipSpace(bytes, from: next + 1)
            let valueEnd = Self.valueEnd(bytes, from: next)
            if valueEnd > next, !Self.isNull(bytes, from: next, to: valueEnd) {
                if output == nil { output = []; output?.reserveCapacity(bytes.count) }
                output?.append(contentsOf: bytes[copied..<next])
                output?.append(contentsOf: Self.placeholder)
                copied = valueEnd
                hits.record("COLUMN")
            }
            index = max(valueEnd, next)
        }
        guard var masked = output else { return nil }
        masked.append(contentsOf: bytes[copied...])
        return masked
    }

    private func isMaskedKey(_ bytes: UnsafeBufferPointer<UInt8>, from start: Int, to end: Int) -> Bool {
        guard end >= start, end - start <= longestKey else { return false }
        return keys.contains(String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<end]), as: UTF8.self).lowercased())
    }

    static let quote = UInt8(ascii: "\"")
    static let colon = UInt8(ascii: ":")

    /// The index after a string literal's closing quote (backslash escapes skipped), or the end.
    static func stringEnd(_ bytes: UnsafeBufferPointer<UInt8>, from start: Int) -> Int {
        var index = start + 1
        while index < bytes.count {
            switch bytes[index] {
            case UInt8(ascii: "\\"): index += 2
            case quote: return index + 1
            default: index += 1
            }
        }
        return bytes.count
    }

    static func skipSpace(_ bytes: UnsafeBufferPointer<UInt8>, from start: Int) -> Int {
        var index = start
        while index < bytes.count, isSpace(bytes[index]) { index += 1 }
        return index
    }

    /// JSON's whitespace.
    static func isSpace(_ byte: UInt8) -> Bool {
        byte == 0x20 || byte == 0x09 || byte == 0x0A || byte == 0x0D
    }

    /// The index after the JSON value starting at `start`: a string, an object or array
    /// (nesting and strings inside followed; an unclosed one runs to the end), or a scalar
    /// up to the next `,`, `}`, `]` or whitespace.
    static func valueEnd(_ bytes: UnsafeBufferPointer<UInt8>, from start: Int) -> Int {
        guard start < bytes.count else { return start }
        switch bytes[start] {
        case quote:
            return stringEnd(bytes, from: start)
        case UInt8(ascii: "{"), UInt8(ascii: "["):
            var depth = 0
            var index = start
            while index < bytes.count {
                switch bytes[index] {
                case quote:
                    index = stringEnd(bytes, from: index)
                    continue
                case UInt8(ascii: "{"), UInt8(ascii: "["):
                    depth += 1
                case UInt8(ascii: "}"), UInt8(ascii: "]"):
                    depth -= 1
                    if depth == 0 { return index + 1 }
                default:
                    break
                }
                index += 1
            }
            return bytes.count
        default:
            var index = start
            while index < bytes.count, !isSpace(bytes[index]), bytes[index] != UInt8(ascii: ","), bytes[index] != UInt8(ascii: "}"),
                  bytes[index] != UInt8(ascii: "]") {
                index += 1
            }
            return index
        }
    }

    static func isNull(_ bytes: UnsafeBufferPointer<UInt8>, from start: Int, to end: Int) -> Bool {
        end - start == 4 && bytes[start] == UInt8(ascii: "n") && bytes[start + 1] == UInt8(ascii: "u")
            && bytes[start + 2] == UInt8(ascii: "l") && bytes[start + 3] == UInt8(ascii: "l")
    }
}

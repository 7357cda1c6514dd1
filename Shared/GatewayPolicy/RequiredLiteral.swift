/// The longest run of plain letters and digits every match of a regular expression must
/// contain, found conservatively from the pattern's top level: `(?i)\bdrop\s+(table|schema)\b`
/// needs "drop". Used as a cheap pre-check before the regular expression runs; `nil` when no
/// such run can be read off safely (a top-level `|`, inline flags other than `i`, or no run
/// of at least three characters).
enum RequiredLiteral {
    static func find(in pattern: String) -> [UInt8]? {
        let bytes = Array(pattern.utf8)
        var best: [UInt8] = []
        var run: [UInt8] = []
        var index = 0
        func endRun() {
            if run.count > best.count { best = run }
            run = []
        }
        while index < bytes.count {
            let byte = bytes[index]
            switch byte {
            case UInt8(ascii: "|"):
                return nil
            case UInt8(ascii: "("):
                // Inline flags: only a case-insensitive flag is understood.
                if index + 2 < bytes.count, bytes[index + 1] == UInt8(ascii: "?") {
                    var end = index + 2
                    while end < bytes.count, bytes[end] != UInt8(ascii: ")"), bytes[end] != UInt8(ascii: ":") { end += 1 }
                    let flags = bytes[(index + 2)..<min(end, bytes.count)]
                    if flags.allSatisfy({ $0 == UInt8(ascii: "i") }) && end < bytes.count && bytes[end] == UInt8(ascii: ")") {
                        endRun()
                        index = end + 1
                        continue
                    }
                    if !flags.allSatisfy({ $0 == UInt8(ascii: "i") || $0 == UInt8(ascii: "-") }) { return nil }
                }
                // Skip the whole group: what is inside may be optional or alternated.
                endRun()
                var depth = 0
                while index < bytes.count {
                    if bytes[index] == UInt8(ascii: "\\") { index += 2; continue }
                    if bytes[index] == UInt8(ascii: "(") { depth += 1 }
                    if bytes[index] == UInt8(ascii: ")") { depth -= 1; if depth == 0 { break } }
                    index += 1
                }
                index += 1
                skipQuantifier(bytes, &index)
                continue
            case UInt8(ascii: "["):
                endRun()
                index += 1
                if index < bytes.count, bytes[index] == UInt8(ascii: "]") { index += 1 }
                while index < bytes.count, bytes[index] != UInt8(ascii: "]") {
                    if bytes[index] == UInt8(ascii: "\\") { index += 1 }
                    index += 1
                }
                index += 1
                skipQuantifier(bytes, &index)
                continue
            case UInt8(ascii: "\\"):
                endRun()
                // Escapes that spell characters or properties by code (\x41, \u0041, \101,
                // \p{L}, \N{...}, \Q...\E, \cA, \k<name>): too much to follow; give up.
                if index + 1 < bytes.count, Array("xuU0123456789pPNQckg".utf8).contains(bytes[index + 1]) { return nil }
                index += 2
                skipQuantifier(bytes, &index)
                continue
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"):
                let next = index + 1 < bytes.count ? bytes[index + 1] : 0
                if next == UInt8(ascii: "?") || next == UInt8(ascii: "*") || next == UInt8(ascii: "{") {
                    // Optional (or counted) character: it ends the run and is not part of it.
                    endRun()
                    index += 1
                    skipQuantifier(bytes, &index)
                    continue
                }
                run.append(byte | (byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z") ? 0x20 : 0))
                if next == UInt8(ascii: "+") {
                    endRun()
                    index += 2
                    continue
                }
                index += 1
            default:
                endRun()
                index += 1
                skipQuantifier(bytes, &index)
            }
        }
        endRun()
        return best.count >= 3 ? best : nil
    }

    private static func skipQuantifier(_ bytes: [UInt8], _ index: inout Int) {
        while index < bytes.count {
            switch bytes[index] {
            case UInt8(ascii: "?"), UInt8(ascii: "*"), UInt8(ascii: "+"):
                index += 1
            case UInt8(ascii: "{"):
                while index < bytes.count, bytes[index] != UInt8(ascii: "}") { index += 1 }
                index += 1
            default:
                return
            }
        }
    }
}

/// What an interactive shell does to a line before it runs it, beyond parsing: it waits for
/// more when the line is incomplete, and it expands history references.
public enum InteractiveLine {
    /// Whether the shell will read another line before running this one: a trailing
    /// backslash, an unclosed quote or substitution, a trailing `|`, `&&` or `||`, or a
    /// here-document whose delimiter has not come yet.
    public static func isIncomplete(_ text: String) -> Bool {
        var bytes = Array(text.utf8)
        while let last = bytes.last, last == 0x20 || last == 0x09 || last == 0x0D { bytes.removeLast() }
        guard let last = bytes.last else { return false }
        if last == UInt8(ascii: "\\") {
            var backslashes = 0
            for byte in bytes.reversed() { if byte == UInt8(ascii: "\\") { backslashes += 1 } else { break } }
            if backslashes % 2 == 1 { return true }
        }
        if last == UInt8(ascii: "|") { return true }
        if bytes.count >= 2, bytes[bytes.count - 2] == UInt8(ascii: "&"), last == UInt8(ascii: "&") { return true }
        let script = ShellParser.parse(text)
        if script.problems.contains(where: { $0.contains("not closed") }) { return true }
        return hasOpenHeredoc(bytes)
    }

    /// A `<<WORD` (not `<<<`) outside quotes whose WORD line has not followed.
    static func hasOpenHeredoc(_ bytes: [UInt8]) -> Bool {
        let lines = bytes.split(separator: 0x0A, omittingEmptySubsequences: false)
        guard let first = lines.first else { return false }
        var delimiters: [[UInt8]] = []
        var index = first.startIndex
        var quote: UInt8?
        while index < first.endIndex {
            let byte = first[index]
            if let open = quote {
                if byte == open { quote = nil }
            } else if byte == UInt8(ascii: "'") || byte == UInt8(ascii: "\"") {
                quote = byte
            } else if byte == UInt8(ascii: "\\") {
                index += 1
            } else if byte == UInt8(ascii: "<"), index + 1 < first.endIndex, first[index + 1] == UInt8(ascii: "<"),
                      index + 2 >= first.endIndex || first[index + 2] != UInt8(ascii: "<") {
                var cursor = index + 2
                if cursor < first.endIndex, first[cursor] == UInt8(ascii: "-") { cursor += 1 }
                while cursor < first.endIndex, first[cursor] == 0x20 { cursor += 1 }
                var word: [UInt8] = []
                while cursor < first.endIndex, first[cursor] != 0x20, first[cursor] != UInt8(ascii: ";"), first[cursor] != UInt8(ascii: "|"), first[cursor] != UInt8(ascii: "&") {
                    if first[cursor] != UInt8(ascii: "'"), first[cursor] != UInt8(ascii: "\""), first[cursor] != UInt8(ascii: "\\") { word.append(first[cursor]) }
                    cursor += 1
                }
                if !word.isEmpty { delimiters.append(word) }
                index = cursor
                continue
            }
            index += 1
        }
        guard !delimiters.isEmpty else { return false }
        var remaining = delimiters[...]
        for line in lines.dropFirst() {
            var stripped = Array(line)
            while stripped.first == 0x09 { stripped.removeFirst() }
            if stripped == remaining.first { remaining = remaining.dropFirst() }
            if remaining.isEmpty { return false }
        }
        return true
    }

    /// Whether an interactive bash would expand a history reference in the line (`!!`,
    /// `!$`, `!-2`, `!rm`, `!?x?`, or `^old^new` at its start) and so run something other
    /// than the text the gateway checked.
    public static func expandsHistory(_ text: String) -> Bool {
        let bytes = Array(text.utf8)
        if bytes.first == UInt8(ascii: "^") { return true }
        var index = 0
        var single = false
        while index < bytes.count {
            let byte = bytes[index]
            if single {
                if byte == UInt8(ascii: "'") { single = false }
            } else if byte == UInt8(ascii: "'") {
                single = true
            } else if byte == UInt8(ascii: "\\") {
                index += 1
            } else if byte == UInt8(ascii: "!") {
                // bash leaves ! alone before a blank, `=`, `(` and at the end of the line.
                if index + 1 < bytes.count {
                    let next = bytes[index + 1]
                    if next != 0x20, next != 0x09, next != 0x0A, next != 0x0D, next != UInt8(ascii: "="), next != UInt8(ascii: "("), next != UInt8(ascii: "\"") { return true }
                }
            }
            index += 1
        }
        return false
    }
}

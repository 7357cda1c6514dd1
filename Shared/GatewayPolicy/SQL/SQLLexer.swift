/// A lexer that follows PostgreSQL's lexical rules (scan.l) closely enough that nothing
/// can hide from it: single-quoted strings with doubled quotes, `E''` strings with
/// backslash escapes, dollar quotes with tags, quoted identifiers, `--` comments and
/// nested `/* */` comments. Unterminated constructs run to the end of the input, as the
/// server treats them (which then rejects the query).
public struct SQLLexer: Sendable {
    public enum Piece: Sendable, Hashable {
        case token(SQLToken)
        case comment(Range<Int>)
    }

    private let bytes: [UInt8]

    public init(_ bytes: [UInt8]) {
        self.bytes = bytes
    }

    public init(_ text: String) {
        self.bytes = Array(text.utf8)
    }

    /// A word's text, lowercased as the server folds unquoted identifiers: ASCII letters
    /// in place, anything else through the Unicode rules.
    static func lowercasedWord(_ word: ArraySlice<UInt8>) -> String {
        guard word.allSatisfy({ $0 < 0x80 }) else { return String(decoding: word, as: UTF8.self).lowercased() }
        return String(unsafeUninitializedCapacity: word.count) { buffer in
            for (index, byte) in word.enumerated() {
                buffer[index] = byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z") ? byte | 0x20 : byte
            }
            return word.count
        }
    }

    /// All tokens and comments in order.
    public func pieces() -> [Piece] {
        var pieces: [Piece] = []
        pieces.reserveCapacity(bytes.count / 4 + 4)
        var i = 0
        let n = bytes.count
        while i < n {
            let b = bytes[i]
            if Self.isSpace(b) {
                i += 1
                continue
            }
            // -- comment
            if b == UInt8(ascii: "-"), i + 1 < n, bytes[i + 1] == UInt8(ascii: "-") {
                let start = i
                while i < n, bytes[i] != UInt8(ascii: "\n"), bytes[i] != UInt8(ascii: "\r") { i += 1 }
                pieces.append(.comment(start..<i))
                continue
            }
            // /* nested comment */
            if b == UInt8(ascii: "/"), i + 1 < n, bytes[i + 1] == UInt8(ascii: "*") {
                let start = i
                var depth = 0
                while i < n {
                    if bytes[i] == UInt8(ascii: "/"), i + 1 < n, bytes[i + 1] == UInt8(ascii: "*") {
                        depth += 1
                        i += 2
                    } else if bytes[i] == UInt8(ascii: "*"), i + 1 < n, bytes[i + 1] == UInt8(ascii: "/") {
                        depth -= 1
                        i += 2
                        if depth == 0 { break }
                    } else {
                        i += 1
                    }
                }
                pieces.append(.comment(start..<i))
                continue
            }
            // String constants with a prefix: E'', B'', X'', N'', U&''
            if Self.isIdentStart(b) {
                let prefixLength = stringPrefixLength(at: i)
                if prefixLength > 0 {
                    let isEscape = b == UInt8(ascii: "e") || b == UInt8(ascii: "E")
                    let start = i
                    let (end, content) = scanQuoted(from: i + prefixLength, quote: UInt8(ascii: "'"), backslashEscapes: isEscape)
                    pieces.append(.token(SQLToken(kind: .string, value: content, range: start..<end)))
                    i = end
                    continue
                }
                if (b == UInt8(ascii: "u") || b == UInt8(ascii: "U")), i + 2 < n, bytes[i + 1] == UInt8(ascii: "&"), bytes[i + 2] == UInt8(ascii: "\"") {
                    let start = i
                    let (end, content) = scanQuoted(from: i + 2, quote: UInt8(ascii: "\""), backslashEscapes: false)
                    pieces.append(.token(SQLToken(kind: .quotedIdentifier, value: content, range: start..<end)))
                    i = end
                    continue
                }
                let start = i
                i += 1
                while i < n, Self.isIdentContinue(bytes[i]) { i += 1 }
                pieces.append(.token(SQLToken(kind: .word, value: Self.lowercasedWord(bytes[start..<i]), range: start..<i)))
                continue
            }
            if b == UInt8(ascii: "'") {
                let start = i
                let (end, content) = scanQuoted(from: i, quote: b, backslashEscapes: false)
                pieces.append(.token(SQLToken(kind: .string, value: content, range: start..<end)))
                i = end
                continue
            }
            if b == UInt8(ascii: "\"") {
                let start = i
                let (end, content) = scanQuoted(from: i, quote: b, backslashEscapes: false)
                pieces.append(.token(SQLToken(kind: .quotedIdentifier, value: content, range: start..<end)))
                i = end
                continue
            }
            if b == UInt8(ascii: "$") {
                if i + 1 < n, Self.isDigit(bytes[i + 1]) {
                    let start = i
                    i += 1
                    while i < n, Self.isDigit(bytes[i]) { i += 1 }
                    pieces.append(.token(SQLToken(kind: .parameter, value: String(decoding: bytes[start..<i], as: UTF8.self), range: start..<i)))
                    continue
                }
                if let tagEnd = dollarTagEnd(at: i) {
                    let tag = Array(bytes[i..<tagEnd])
                    let start = i
                    let bodyStart = tagEnd
                    var j = bodyStart
                    var bodyEnd = n
                    var end = n
                    while j < n {
                        if bytes[j] == UInt8(ascii: "$"), j + tag.count <= n, bytes[j..<(j + tag.count)].elementsEqual(tag) {
                            bodyEnd = j
                            end = j + tag.count
                            break
                        }
                        j += 1
                    }
                    pieces.append(.token(SQLToken(kind: .dollarString, value: String(decoding: bytes[bodyStart..<bodyEnd], as: UTF8.self), range: start..<end)))
                    i = end
                    continue
                }
            }
            if Self.isDigit(b) || (b == UInt8(ascii: ".") && i + 1 < n && Self.isDigit(bytes[i + 1])) {
                let start = i
                i += 1
                while i < n, Self.isDigit(bytes[i]) || bytes[i] == UInt8(ascii: ".") || bytes[i] == UInt8(ascii: "_")
                    || bytes[i] == UInt8(ascii: "e") || bytes[i] == UInt8(ascii: "E")
                    || Self.isHexLetter(bytes[i]) || bytes[i] == UInt8(ascii: "x") || bytes[i] == UInt8(ascii: "X") {
                    i += 1
                }
                pieces.append(.token(SQLToken(kind: .number, value: String(decoding: bytes[start..<i], as: UTF8.self), range: start..<i)))
                continue
            }
            // Operators: a run of operator characters, but single-char punctuation on its own.
            if Self.isPunctuation(b) {
                pieces.append(.token(SQLToken(kind: .symbol, value: String(UnicodeScalar(b)), range: i..<(i + 1))))
                i += 1
                continue
            }
            let start = i
            i += 1
            while i < n, Self.isOperatorChar(bytes[i]) {
                // An operator never contains the start of a comment.
                if (bytes[i] == UInt8(ascii: "-") && i + 1 < n && bytes[i + 1] == UInt8(ascii: "-"))
                    || (bytes[i] == UInt8(ascii: "/") && i + 1 < n && bytes[i + 1] == UInt8(ascii: "*")) {
                    break
                }
                i += 1
            }
            pieces.append(.token(SQLToken(kind: .symbol, value: String(decoding: bytes[start..<i], as: UTF8.self), range: start..<i)))
        }
        return pieces
    }

    /// Length of a string-constant prefix at `i` (`E'` → 1, `U&'` → 2), or 0.
    private func stringPrefixLength(at i: Int) -> Int {
        let n = bytes.count
        let b = bytes[i] | 0x20
        if i > 0, Self.isIdentContinue(bytes[i - 1]) { return 0 }
        let isPrefixLetter = b == UInt8(ascii: "e") || b == UInt8(ascii: "b") || b == UInt8(ascii: "x") || b == UInt8(ascii: "n")
        if isPrefixLetter, i + 1 < n, bytes[i + 1] == UInt8(ascii: "'") {
            return 1
        }
        if b == UInt8(ascii: "u"), i + 2 < n, bytes[i + 1] == UInt8(ascii: "&"), bytes[i + 2] == UInt8(ascii: "'") {
            return 2
        }
        return 0
    }

    /// Scans a quoted construct starting at the opening quote; returns the end offset
    /// (after the closing quote, or the input's end) and the unescaped content.
    private func scanQuoted(from open: Int, quote: UInt8, backslashEscapes: Bool) -> (Int, String) {
        let n = bytes.count
        var i = open + 1
        var content: [UInt8] = []
        while i < n {
            let c = bytes[i]
            if backslashEscapes, c == UInt8(ascii: "\\"), i + 1 < n {
                content.append(bytes[i + 1])
                i += 2
                continue
            }
            if c == quote {
                if i + 1 < n, bytes[i + 1] == quote {
                    content.append(quote)
                    i += 2
                    continue
                }
                return (i + 1, String(decoding: content, as: UTF8.self))
            }
            content.append(c)
            i += 1
        }
        return (n, String(decoding: content, as: UTF8.self))
    }

    /// If a dollar-quote opening tag (`$$` or `$tag$`) starts at `i`, the offset after it.
    private func dollarTagEnd(at i: Int) -> Int? {
        let n = bytes.count
        // `$` inside an identifier (`a$b`) is not a quote.
        if i > 0, Self.isIdentContinue(bytes[i - 1]) { return nil }
        var j = i + 1
        if j < n, bytes[j] == UInt8(ascii: "$") { return j + 1 }
        guard j < n, Self.isIdentStart(bytes[j]) else { return nil }
        j += 1
        while j < n, Self.isIdentContinue(bytes[j]), bytes[j] != UInt8(ascii: "$") { j += 1 }
        guard j < n, bytes[j] == UInt8(ascii: "$") else { return nil }
        return j + 1
    }

    @inline(__always) static func isSpace(_ b: UInt8) -> Bool {
        b == 0x20 || b == 0x09 || b == 0x0A || b == 0x0D || b == 0x0C || b == 0x0B
    }
    @inline(__always) static func isDigit(_ b: UInt8) -> Bool { b >= 0x30 && b <= 0x39 }
    @inline(__always) static func isHexLetter(_ b: UInt8) -> Bool { (b | 0x20) >= 0x61 && (b | 0x20) <= 0x66 }
    @inline(__always) static func isIdentStart(_ b: UInt8) -> Bool {
        (b | 0x20) >= 0x61 && (b | 0x20) <= 0x7A || b == UInt8(ascii: "_") || b >= 0x80
    }
    @inline(__always) static func isIdentContinue(_ b: UInt8) -> Bool {
        isIdentStart(b) || isDigit(b) || b == UInt8(ascii: "$")
    }
    @inline(__always) static func isPunctuation(_ b: UInt8) -> Bool {
        b == UInt8(ascii: "(") || b == UInt8(ascii: ")") || b == UInt8(ascii: ";") || b == UInt8(ascii: ",")
            || b == UInt8(ascii: "[") || b == UInt8(ascii: "]") || b == UInt8(ascii: ".") || b == UInt8(ascii: ":")
    }
    @inline(__always) static func isOperatorChar(_ b: UInt8) -> Bool {
        switch b {
        case UInt8(ascii: "+"), UInt8(ascii: "-"), UInt8(ascii: "*"), UInt8(ascii: "/"), UInt8(ascii: "<"),
             UInt8(ascii: ">"), UInt8(ascii: "="), UInt8(ascii: "~"), UInt8(ascii: "!"), UInt8(ascii: "@"),
             UInt8(ascii: "#"), UInt8(ascii: "%"), UInt8(ascii: "^"), UInt8(ascii: "&"), UInt8(ascii: "|"),
             UInt8(ascii: "`"), UInt8(ascii: "?"):
            return true
        default:
            return false
        }
    }
}

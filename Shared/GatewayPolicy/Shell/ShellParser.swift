/// Reads a command line as a POSIX shell (and bash) reads it: quotes ('...', "...", $'...'),
/// backslash escapes, line continuations, comments, parameter expansion, command
/// substitution (`$(...)`, backticks) and process substitution (`<(...)`), pipes and lists,
/// redirections, here-documents and here-strings, and the reserved words of compound
/// commands. Each simple command's words come out after quote removal; commands inside
/// substitutions and compound commands are listed with the rest.
///
/// It does not run anything: an expansion stays in its word as written, and that word is
/// not literal.
public enum ShellParser {
    /// How deep substitutions within substitutions are opened.
    static let maximumDepth = 16

    public static func parse(_ text: String) -> ShellScript {
        var parser = Parser(bytes: Array(text.utf8), depth: 0)
        parser.run()
        return parser.script
    }

    static func parse(_ bytes: [UInt8], depth: Int) -> ShellScript {
        var parser = Parser(bytes: bytes, depth: depth)
        parser.run()
        return parser.script
    }

    private static let reservedSkipped: Set<String> = ["if", "then", "else", "elif", "fi", "do", "done", "while", "until", "!", "{", "}", "time", "coproc"]

    private struct PendingHeredoc {
        var delimiter: [UInt8]
        var stripTabs: Bool
        var literal: Bool
    }

    private struct Parser {
        let bytes: [UInt8]
        let depth: Int
        var index = 0
        var script = ShellScript()
        var words: [ShellWord] = []
        var input = ShellSimpleCommand.Input.inherited
        var nextInput = ShellSimpleCommand.Input.inherited
        var heredocs: [PendingHeredoc] = []
        /// Inside `for NAME in WORDS`, `select`, `case WORD in`, `[[ ... ]]`: words that are not a command.
        var skipping: SkipState = .none
        var expectCasePattern = false

        enum SkipState { case none, untilDo, untilIn, untilDoubleBracket }

        init(bytes: [UInt8], depth: Int) {
            self.bytes = bytes
            self.depth = depth
        }

        var atEnd: Bool { index >= bytes.count }
        func peek(_ offset: Int = 0) -> UInt8? { index + offset < bytes.count ? bytes[index + offset] : nil }

        static func isBlank(_ byte: UInt8) -> Bool { byte == 0x20 || byte == 0x09 }
        static func isOperator(_ byte: UInt8) -> Bool {
            byte == UInt8(ascii: "|") || byte == UInt8(ascii: "&") || byte == UInt8(ascii: ";") || byte == UInt8(ascii: "(")
                || byte == UInt8(ascii: ")") || byte == UInt8(ascii: "<") || byte == UInt8(ascii: ">")
        }
        static func isNameByte(_ byte: UInt8) -> Bool {
            (byte >= UInt8(ascii: "a") && byte <= UInt8(ascii: "z")) || (byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z"))
                || (byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9")) || byte == UInt8(ascii: "_")
        }

        mutating func run() {
            guard depth <= ShellParser.maximumDepth else {
                script.problems.append("substitutions are nested deeper than the gateway opens")
                return
            }
            while !atEnd {
                let byte = bytes[index]
                if Self.isBlank(byte) { index += 1; continue }
                if byte == UInt8(ascii: "\\"), peek(1) == 0x0A { index += 2; continue }
                if byte == UInt8(ascii: "#") { skipComment(); continue }
                if byte == 0x0A || byte == 0x0D {
                    index += 1
                    endCommand(next: .inherited)
                    readHeredocBodies()
                    continue
                }
                if Self.isOperator(byte), !isProcessSubstitution() {
                    readOperator()
                    continue
                }
                let word = readWord()
                accept(word)
            }
            endCommand(next: .inherited)
            if !heredocs.isEmpty { readHeredocBodies() }
        }

        mutating func skipComment() {
            while !atEnd, bytes[index] != 0x0A { index += 1 }
        }

        func isProcessSubstitution() -> Bool {
            (bytes[index] == UInt8(ascii: "<") || bytes[index] == UInt8(ascii: ">")) && peek(1) == UInt8(ascii: "(")
        }

        /// A word at command position or after it.
        mutating func accept(_ word: ShellWord) {
            if case .untilDoubleBracket = skipping {
                if word.text == "]]" { skipping = .none }
                return
            }
            guard words.isEmpty else {
                words.append(word)
                return
            }
            switch skipping {
            case .untilDo:
                if word.isLiteral, word.text == "do" { skipping = .none }
                return
            case .untilIn:
                if word.isLiteral, word.text == "in" {
                    skipping = .none
                    expectCasePattern = true
                }
                return
            default:
                break
            }
            if expectCasePattern {
                if word.isLiteral, word.text == "esac" {
                    expectCasePattern = false
                    expectCaseBody = false
                }
                return
            }
            if word.isLiteral {
                switch word.text {
                case "for", "select": skipping = .untilDo; return
                case "case": skipping = .untilIn; return
                case "[[": skipping = .untilDoubleBracket; return
                case "function": functionName = true; return
                case "esac": expectCaseBody = false; return
                default: break
                }
                if ShellParser.reservedSkipped.contains(word.text) { return }
                if functionName {
                    functionName = false
                    return
                }
            }
            // An assignment before the command (NAME=value) is not a word of it; a
            // substitution in its value was parsed with the rest.
            if word.startsLiteral, isAssignment(word) { return }
            words.append(word)
        }

        var functionName = false

        func isAssignment(_ word: ShellWord) -> Bool {
            guard let equals = word.text.utf8.firstIndex(of: UInt8(ascii: "=")), equals != word.text.utf8.startIndex else { return false }
            return word.text.utf8[..<equals].allSatisfy(Self.isNameByte) && !(word.text.utf8.first.map { $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") } ?? true)
        }

        mutating func endCommand(next: ShellSimpleCommand.Input) {
            if !words.isEmpty {
                script.commands.append(ShellSimpleCommand(words: words, input: input))
            }
            words = []
            input = next
        }

        mutating func readOperator() {
            let byte = bytes[index]
            func take(_ text: String) -> Bool {
                let operatorBytes = Array(text.utf8)
                guard index + operatorBytes.count <= bytes.count, Array(bytes[index..<(index + operatorBytes.count)]) == operatorBytes else { return false }
                index += operatorBytes.count
                return true
            }
            switch byte {
            case UInt8(ascii: "|"):
                if take("||") { endCommand(next: .inherited) } else { _ = take("|&") || take("|"); endCommand(next: .pipe) }
            case UInt8(ascii: "&"):
                if take("&&") {
                    endCommand(next: .inherited)
                } else if take("&>>") || take("&>") {
                    _ = readRedirectionTarget()
                } else {
                    index += 1
                    endCommand(next: .inherited)
                }
            case UInt8(ascii: ";"):
                if take(";;&") || take(";;") || take(";&") {
                    endCommand(next: .inherited)
                    if expectCaseBody { expectCasePattern = true }
                } else {
                    index += 1
                    endCommand(next: .inherited)
                }
            case UInt8(ascii: "("):
                index += 1
                // `name() { ...; }`: a function definition, its name is not a command.
                if words.count == 1, peek() == UInt8(ascii: ")") {
                    index += 1
                    words = []
                    return
                }
                endCommand(next: .inherited)
            case UInt8(ascii: ")"):
                index += 1
                if expectCasePattern {
                    expectCasePattern = false
                    expectCaseBody = true
                    words = []
                    return
                }
                endCommand(next: .inherited)
            default:
                readRedirection()
            }
        }

        var expectCaseBody = false

        /// `<`, `>`, `>>`, `<>`, `>|`, `<&`, `>&`, `<<`, `<<-`, `<<<`: the target is not a word
        /// of the command; a here-document's body and a here-string are its input.
        mutating func readRedirection() {
            if bytes[index] == UInt8(ascii: "<"), peek(1) == UInt8(ascii: "<") {
                if peek(2) == UInt8(ascii: "<") {
                    index += 3
                    let word = readRedirectionTarget()
                    input = .text(word?.text ?? "", literal: word?.isLiteral ?? false)
                    return
                }
                index += 2
                var stripTabs = false
                if peek() == UInt8(ascii: "-") { stripTabs = true; index += 1 }
                let start = index
                let delimiter = readRedirectionTarget()
                let raw = bytes[start..<index]
                let quoted = raw.contains(UInt8(ascii: "'")) || raw.contains(UInt8(ascii: "\"")) || raw.contains(UInt8(ascii: "\\"))
                heredocs.append(PendingHeredoc(delimiter: Array((delimiter?.text ?? "").utf8), stripTabs: stripTabs, literal: quoted))
                input = .text("", literal: quoted)
                return
            }
            let isInput = bytes[index] == UInt8(ascii: "<")
            index += 1
            while let next = peek(), next == UInt8(ascii: ">") || next == UInt8(ascii: "&") || next == UInt8(ascii: "|") || next == UInt8(ascii: "<") {
                index += 1
            }
            _ = readRedirectionTarget()
            if isInput { input = .redirected }
        }

        mutating func readRedirectionTarget() -> ShellWord? {
            while let next = peek(), Self.isBlank(next) { index += 1 }
            guard let next = peek(), next != 0x0A, !Self.isOperator(next) || isProcessSubstitution() else { return nil }
            return readWord()
        }

        /// After a line with here-documents: their bodies, line by line up to each delimiter.
        mutating func readHeredocBodies() {
            let pending = heredocs
            heredocs = []
            for heredoc in pending {
                var body: [UInt8] = []
                while !atEnd {
                    var end = index
                    while end < bytes.count, bytes[end] != 0x0A { end += 1 }
                    var line = Array(bytes[index..<end])
                    index = min(end + 1, bytes.count)
                    if heredoc.stripTabs { while line.first == 0x09 { line.removeFirst() } }
                    if line == heredoc.delimiter || line == heredoc.delimiter + [0x0D] { break }
                    body += line + [0x0A]
                }
                // The command the here-document belongs to is the last one ended before it.
                if let last = script.commands.indices.last, case .text(_, let literal) = script.commands[last].input {
                    let text = String(decoding: body, as: UTF8.self)
                    // An unquoted delimiter expands $... in the body: literal only without any.
                    let known = literal || !body.contains(UInt8(ascii: "$")) && !body.contains(UInt8(ascii: "`"))
                    script.commands[last].input = .text(text, literal: known)
                    if !literal { collectSubstitutions(in: body) }
                }
            }
        }

        // MARK: - Words

        mutating func readWord() -> ShellWord {
            var text: [UInt8] = []
            var literal = true
            var startsLiteral: Bool?
            func appendLiteral(_ piece: some Sequence<UInt8>) {
                let before = text.count
                text.append(contentsOf: piece)
                if startsLiteral == nil, text.count > before { startsLiteral = true }
            }
            func appendExpansion(_ piece: ArraySlice<UInt8>) {
                text.append(contentsOf: piece)
                literal = false
                if startsLiteral == nil { startsLiteral = false }
            }
            while !atEnd {
                let byte = bytes[index]
                if Self.isBlank(byte) || byte == 0x0A || byte == 0x0D { break }
                if Self.isOperator(byte) {
                    if isProcessSubstitution() {
                        let start = index
                        index += 2
                        substitution(openedAt: index)
                        appendExpansion(bytes[start..<index])
                        continue
                    }
                    break
                }
                switch byte {
                case UInt8(ascii: "\\"):
                    if peek(1) == 0x0A { index += 2; continue }
                    if let next = peek(1) { appendLiteral([next]); index += 2 } else { index += 1 }
                case UInt8(ascii: "'"):
                    index += 1
                    let start = index
                    while !atEnd, bytes[index] != UInt8(ascii: "'") { index += 1 }
                    if atEnd { script.problems.append("a single quote is not closed") }
                    appendLiteral(bytes[start..<min(index, bytes.count)])
                    index = min(index + 1, bytes.count)
                case UInt8(ascii: "\""):
                    index += 1
                    doubleQuoted(appendLiteral: appendLiteral, appendExpansion: appendExpansion)
                case UInt8(ascii: "`"):
                    let start = index
                    backticks()
                    appendExpansion(bytes[start..<index])
                case UInt8(ascii: "$"):
                    if peek(1) == UInt8(ascii: "'") {
                        index += 2
                        appendLiteral(ansiC())
                    } else if peek(1) == UInt8(ascii: "\"") {
                        index += 2
                        doubleQuoted(appendLiteral: appendLiteral, appendExpansion: appendExpansion)
                    } else if let start = dollar() {
                        appendExpansion(bytes[start..<index])
                    } else {
                        appendLiteral([byte])
                        index += 1
                    }
                default:
                    appendLiteral([byte])
                    index += 1
                }
            }
            return ShellWord(text: String(decoding: text, as: UTF8.self), isLiteral: literal, startsLiteral: startsLiteral ?? true)
        }

        /// After an opening `"`: up to the closing one.
        mutating func doubleQuoted(appendLiteral: (ArraySlice<UInt8>) -> Void, appendExpansion: (ArraySlice<UInt8>) -> Void) {
            while !atEnd {
                let byte = bytes[index]
                switch byte {
                case UInt8(ascii: "\""):
                    index += 1
                    return
                case UInt8(ascii: "\\"):
                    guard let next = peek(1) else { index += 1; continue }
                    if next == 0x0A { index += 2; continue }
                    if next == UInt8(ascii: "$") || next == UInt8(ascii: "`") || next == UInt8(ascii: "\"") || next == UInt8(ascii: "\\") {
                        appendLiteral([next][...])
                    } else {
                        appendLiteral([byte, next][...])
                    }
                    index += 2
                case UInt8(ascii: "`"):
                    let start = index
                    backticks()
                    appendExpansion(bytes[start..<index])
                case UInt8(ascii: "$"):
                    if let start = dollar() { appendExpansion(bytes[start..<index]) } else { appendLiteral([byte][...]); index += 1 }
                default:
                    appendLiteral([byte][...])
                    index += 1
                }
            }
            script.problems.append("a double quote is not closed")
        }

        /// `$'...'`: bash's ANSI-C quoting, decoded.
        mutating func ansiC() -> [UInt8] {
            var output: [UInt8] = []
            while !atEnd {
                let byte = bytes[index]
                index += 1
                if byte == UInt8(ascii: "'") { return output }
                guard byte == UInt8(ascii: "\\"), !atEnd else { output.append(byte); continue }
                let escape = bytes[index]
                index += 1
                switch escape {
                case UInt8(ascii: "n"): output.append(0x0A)
                case UInt8(ascii: "t"): output.append(0x09)
                case UInt8(ascii: "r"): output.append(0x0D)
                case UInt8(ascii: "a"): output.append(0x07)
                case UInt8(ascii: "b"): output.append(0x08)
                case UInt8(ascii: "f"): output.append(0x0C)
                case UInt8(ascii: "v"): output.append(0x0B)
                case UInt8(ascii: "e"), UInt8(ascii: "E"): output.append(0x1B)
                case UInt8(ascii: "x"):
                    var value: UInt32 = 0
                    var digits = 0
                    while digits < 2, let digit = peek().flatMap(Self.hexValue) { value = value * 16 + digit; index += 1; digits += 1 }
                    output.append(UInt8(truncatingIfNeeded: value))
                case UInt8(ascii: "u"), UInt8(ascii: "U"):
                    var value: UInt32 = 0
                    var digits = 0
                    let limit = escape == UInt8(ascii: "u") ? 4 : 8
                    while digits < limit, let digit = peek().flatMap(Self.hexValue) { value = value * 16 + digit; index += 1; digits += 1 }
                    if let scalar = Unicode.Scalar(value) { output.append(contentsOf: Array(String(Character(scalar)).utf8)) }
                case UInt8(ascii: "0")...UInt8(ascii: "7"):
                    var value = UInt32(escape - UInt8(ascii: "0"))
                    var digits = 1
                    while digits < 3, let next = peek(), next >= UInt8(ascii: "0"), next <= UInt8(ascii: "7") {
                        value = value * 8 + UInt32(next - UInt8(ascii: "0")); index += 1; digits += 1
                    }
                    output.append(UInt8(truncatingIfNeeded: value))
                case UInt8(ascii: "c"):
                    if let next = peek() { output.append(next & 0x1F); index += 1 }
                default:
                    output.append(escape)
                }
            }
            script.problems.append("a $'...' quote is not closed")
            return output
        }

        static func hexValue(_ byte: UInt8) -> UInt32? {
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): UInt32(byte - UInt8(ascii: "0"))
            case UInt8(ascii: "a")...UInt8(ascii: "f"): UInt32(byte - UInt8(ascii: "a") + 10)
            case UInt8(ascii: "A")...UInt8(ascii: "F"): UInt32(byte - UInt8(ascii: "A") + 10)
            default: nil
            }
        }

        /// At a `$`: a parameter, command substitution or arithmetic expansion, consumed; its
        /// start, or nil when the `$` is a plain character.
        mutating func dollar() -> Int? {
            let start = index
            guard let next = peek(1) else { return nil }
            if next == UInt8(ascii: "(") {
                if peek(2) == UInt8(ascii: "(") {
                    // $(( arithmetic )): no command, but a substitution inside it runs.
                    index += 3
                    let inner = index
                    var depth = 2
                    while !atEnd, depth > 0 {
                        if bytes[index] == UInt8(ascii: "(") { depth += 1 }
                        if bytes[index] == UInt8(ascii: ")") { depth -= 1 }
                        index += 1
                    }
                    collectSubstitutions(in: Array(bytes[inner..<max(inner, index - 2)]))
                    return start
                }
                index += 2
                substitution(openedAt: index)
                return start
            }
            if next == UInt8(ascii: "{") {
                index += 2
                let inner = index
                var depth = 1
                while !atEnd, depth > 0 {
                    let byte = bytes[index]
                    if byte == UInt8(ascii: "\\") { index += 2; continue }
                    if byte == UInt8(ascii: "'") {
                        index += 1
                        while !atEnd, bytes[index] != UInt8(ascii: "'") { index += 1 }
                    } else if byte == UInt8(ascii: "{") {
                        depth += 1
                    } else if byte == UInt8(ascii: "}") {
                        depth -= 1
                    }
                    index += 1
                }
                index = min(index, bytes.count)
                // ${x:-$(cmd)} runs cmd.
                collectSubstitutions(in: Array(bytes[inner..<max(inner, index - 1)]))
                return start
            }
            if Self.isNameByte(next) {
                index += 1
                if next >= UInt8(ascii: "0") && next <= UInt8(ascii: "9") { index += 1; return start }
                while let byte = peek(), Self.isNameByte(byte) { index += 1 }
                return start
            }
            if "@*#?-$!".utf8.contains(next) {
                index += 2
                return start
            }
            return nil
        }

        /// After `$(` or `<(` and the `(`: the commands up to the matching `)`, parsed.
        mutating func substitution(openedAt start: Int) {
            index = start
            var depth = 1
            while !atEnd {
                let byte = bytes[index]
                switch byte {
                case UInt8(ascii: "\\"): index += 2; continue
                case UInt8(ascii: "'"):
                    index += 1
                    while !atEnd, bytes[index] != UInt8(ascii: "'") { index += 1 }
                case UInt8(ascii: "\""):
                    index += 1
                    while !atEnd, bytes[index] != UInt8(ascii: "\"") {
                        if bytes[index] == UInt8(ascii: "\\") { index += 1 }
                        index += 1
                    }
                case UInt8(ascii: "("): depth += 1
                case UInt8(ascii: ")"):
                    depth -= 1
                    if depth == 0 {
                        nested(Array(bytes[start..<index]))
                        index += 1
                        return
                    }
                default: break
                }
                index += 1
            }
            index = bytes.count
            script.problems.append("a command substitution is not closed")
            nested(Array(bytes[min(start, bytes.count)...]))
        }

        /// At a backtick: the commands up to the closing one (with `\``, `\\` and `\$`
        /// unescaped), parsed.
        mutating func backticks() {
            index += 1
            var inner: [UInt8] = []
            while !atEnd {
                let byte = bytes[index]
                if byte == UInt8(ascii: "`") {
                    index += 1
                    nested(inner)
                    return
                }
                if byte == UInt8(ascii: "\\"), let next = peek(1), next == UInt8(ascii: "`") || next == UInt8(ascii: "\\") || next == UInt8(ascii: "$") {
                    inner.append(next)
                    index += 2
                    continue
                }
                inner.append(byte)
                index += 1
            }
            script.problems.append("a backtick substitution is not closed")
            nested(inner)
        }

        /// Command substitutions inside text that is otherwise not commands (`${...}`, an
        /// arithmetic expansion, an unquoted here-document).
        mutating func collectSubstitutions(in text: [UInt8]) {
            var inner = Parser(bytes: text, depth: depth + 1)
            while !inner.atEnd {
                let byte = inner.bytes[inner.index]
                if byte == UInt8(ascii: "`") {
                    inner.backticks()
                } else if byte == UInt8(ascii: "$"), inner.peek(1) == UInt8(ascii: "(") || inner.peek(1) == UInt8(ascii: "{") {
                    _ = inner.dollar()
                } else {
                    inner.index += 1
                }
            }
            script.commands += inner.script.commands
            script.problems += inner.script.problems
        }

        mutating func nested(_ text: [UInt8]) {
            let inner = ShellParser.parse(text, depth: depth + 1)
            script.commands += inner.commands
            script.problems += inner.problems
        }
    }
}

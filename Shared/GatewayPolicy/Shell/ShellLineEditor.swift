/// Follows what a user types into an interactive shell, key by key, the way a line editor
/// (readline, or the terminal's canonical mode) would, so the gateway can check each line
/// when Enter is pressed, before the Enter reaches the target.
///
/// Every byte except the Enter itself is passed through unchanged: the remote shell still
/// echoes, completes and edits. Keys whose effect only the remote side knows (Tab completion,
/// history recall, reverse search, yank, Meta keys) make the line *uncertain*: the editor
/// then knows only part of what will run, and the caller decides how strict to be.
public struct ShellLineEditor: Sendable {
    public enum Step: Sendable, Equatable {
        /// Bytes to pass on as they are.
        case forward([UInt8])
        /// Enter was pressed: `line` is what the editor saw typed; `terminator` is the Enter
        /// byte, to pass on if the line may run.
        case enter(line: String, certain: Bool, terminator: UInt8)
    }

    private enum Escape: Sendable {
        case none
        case escape
        /// CSI (`ESC [`) or SS3 (`ESC O`) with the parameter bytes so far.
        case sequence(ss3: Bool, parameters: [UInt8])
    }

    private var line: [UInt8] = []
    private var cursor = 0
    private var certain = true
    private var escape = Escape.none
    /// Inside a bracketed paste (`ESC [200~` ... `ESC [201~`): readline inserts control
    /// bytes there literally (a ^U, a newline) instead of acting on them.
    private var pasting = false
    /// Continuation bytes a UTF-8 character still needs: a byte of 0x80 or more outside a
    /// character is an 8-bit Meta key (M-b: backward-word), not text.
    private var utf8Pending = 0

    public init() {}

    /// The line typed so far (for tests and messages).
    public var currentLine: String { String(decoding: line, as: UTF8.self) }

    public mutating func feed(_ bytes: some Sequence<UInt8>) -> [Step] {
        var steps: [Step] = []
        var pending: [UInt8] = []
        for byte in bytes {
            if case .none = escape, byte == 0x0d || byte == 0x0a, pasting {
                // A pasted newline is part of the line readline keeps editing: what runs at
                // the next Enter is more than one line the gateway would check apart.
                pending.append(byte)
                certain = false
                continue
            }
            if case .none = escape, byte == 0x0d || byte == 0x0a {
                if !pending.isEmpty { steps.append(.forward(pending)); pending = [] }
                steps.append(.enter(line: currentLine, certain: certain, terminator: byte))
                reset()
                continue
            }
            pending.append(byte)
            apply(byte)
        }
        if !pending.isEmpty { steps.append(.forward(pending)) }
        return steps
    }

    /// Forgets the line (after the caller discarded it on the remote side).
    public mutating func reset() {
        line = []
        cursor = 0
        certain = true
        escape = .none
        pasting = false
        utf8Pending = 0
    }

    private mutating func apply(_ byte: UInt8) {
        switch escape {
        case .escape:
            switch byte {
            case UInt8(ascii: "["): escape = .sequence(ss3: false, parameters: [])
            case UInt8(ascii: "O"): escape = .sequence(ss3: true, parameters: [])
            default:
                // Meta-key bindings (word moves, transposes): their effect is the remote's to know.
                certain = false
                escape = .none
            }
            return
        case .sequence(let ss3, var parameters):
            if (0x30...0x3f).contains(byte) || (0x20...0x2f).contains(byte) {
                parameters.append(byte)
                escape = .sequence(ss3: ss3, parameters: parameters)
            } else {
                escape = .none
                applySequence(final: byte, parameters: parameters)
            }
            return
        case .none:
            break
        }
        if pasting, byte < 0x20 || byte == 0x7f, byte != 0x1b {
            certain = false
            return
        }
        if byte >= 0x80 {
            if Self.isContinuation(byte) {
                if utf8Pending > 0 { utf8Pending -= 1 } else { certain = false }
            } else if (0xc2...0xf4).contains(byte), utf8Pending == 0 {
                utf8Pending = byte >= 0xf0 ? 3 : byte >= 0xe0 ? 2 : 1
            } else {
                certain = false
                utf8Pending = 0
            }
            line.insert(byte, at: cursor)
            cursor += 1
            return
        }
        if utf8Pending > 0 {
            // A character cut short: the lead byte was a Meta key.
            certain = false
            utf8Pending = 0
        }
        switch byte {
        case 0x1b: escape = .escape
        case 0x7f, 0x08: deleteBackward()
        case 0x15: line.removeSubrange(0..<cursor); cursor = 0  // ^U: kill to the start
        case 0x0b: line.removeSubrange(cursor...)  // ^K: kill to the end
        case 0x17: deleteWordBackward()  // ^W
        case 0x01: cursor = 0  // ^A
        case 0x05: cursor = line.count  // ^E
        case 0x02: moveLeft()  // ^B
        case 0x06: moveRight()  // ^F
        case 0x04: deleteForward()  // ^D (EOF on an empty line: nothing to check)
        case 0x03: line = []; cursor = 0; certain = true  // ^C discards the line
        case 0x0c, 0x07, 0x00: break  // ^L redraw, bell, NUL
        case 0x09, 0x10, 0x0e, 0x12, 0x13, 0x19, 0x14, 0x16, 0x18, 0x1f:
            // Tab completion, history (^P ^N), searches (^R ^S), yank, transpose, quoted insert,
            // prefixes, undo: the remote side decides what the line becomes.
            certain = false
        case 0x00..<0x20:
            certain = false
        default:
            line.insert(byte, at: cursor)
            cursor += 1
        }
    }

    private mutating func applySequence(final: UInt8, parameters: [UInt8]) {
        let parameter = String(decoding: parameters, as: UTF8.self)
        switch final {
        // With a modifier (ESC [1;5D is Ctrl-Left: backward-word) a key does something else.
        case UInt8(ascii: "C") where parameters.isEmpty: moveRight()
        case UInt8(ascii: "D") where parameters.isEmpty: moveLeft()
        case UInt8(ascii: "H") where parameters.isEmpty: cursor = 0
        case UInt8(ascii: "F") where parameters.isEmpty: cursor = line.count
        case UInt8(ascii: "~"):
            switch parameter {
            case "3": deleteForward()
            case "1", "7": cursor = 0
            case "4", "8": cursor = line.count
            case "200": pasting = true
            case "201": pasting = false
            default: certain = false
            }
        default:
            // Up and down arrows recall history; anything else is unknown to a line editor.
            certain = false
        }
    }

    private static func isContinuation(_ byte: UInt8) -> Bool { byte & 0xc0 == 0x80 }

    private mutating func moveLeft() {
        guard cursor > 0 else { return }
        cursor -= 1
        while cursor > 0 && Self.isContinuation(line[cursor]) { cursor -= 1 }
    }

    private mutating func moveRight() {
        guard cursor < line.count else { return }
        cursor += 1
        while cursor < line.count && Self.isContinuation(line[cursor]) { cursor += 1 }
    }

    private mutating func deleteBackward() {
        let end = cursor
        moveLeft()
        line.removeSubrange(cursor..<end)
    }

    private mutating func deleteForward() {
        let start = cursor
        moveRight()
        line.removeSubrange(start..<cursor)
        cursor = start
    }

    private mutating func deleteWordBackward() {
        let end = cursor
        while cursor > 0 && line[cursor - 1] == UInt8(ascii: " ") { cursor -= 1 }
        while cursor > 0 && line[cursor - 1] != UInt8(ascii: " ") { cursor -= 1 }
        line.removeSubrange(cursor..<end)
    }
}

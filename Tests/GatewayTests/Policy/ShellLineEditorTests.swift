import GatewayPolicy
import Testing

@Suite("Shell line editor")
struct ShellLineEditorTests {
    func lines(_ input: String) -> [(String, Bool)] {
        var editor = ShellLineEditor()
        return editor.feed(Array(input.utf8)).compactMap { step in
            if case .enter(let line, let certain, _) = step { return (line, certain) }
            return nil
        }
    }

    @Test(arguments: [
        ("ls -la\r", "ls -la", true),
        ("rm -rg\u{7f}f /x\r", "rm -rf /x", true),  // backspace
        ("echo hi\u{15}rm -rf /\r", "rm -rf /", true),  // ^U kills the line
        ("rm -rf /tmp\u{1b}[D\u{1b}[D\u{1b}[Dx\r", "rm -rf /xtmp", true),  // arrows move the cursor
        ("f /\u{01}rm -r\r", "rm -rf /", true),  // ^A then insert at the start
        ("echo one two\u{17}\u{17}rm\r", "echo rm", true),  // ^W deletes words
        ("abc\u{1b}[H\u{1b}[3~\r", "bc", true),  // Home, Delete
        ("hist\u{1b}[A\r", "hist", false),  // history recall: uncertain
        ("rm -r\t\r", "rm -r", false),  // tab completion: uncertain
        ("\u{1b}[200~rm -rf /\u{1b}[201~\r", "rm -rf /", true),  // bracketed paste is typed text
        ("naïve\u{7f}e\r", "naïve", true),  // backspace removes a whole UTF-8 character
        ("partial\u{03}ls\r", "ls", true),  // ^C discards the line
        // Keys a line model could get wrong are uncertain, not guessed:
        ("echo rm -rf /x\u{1b}[1;5Dy\r", "echo rm -rf /xy", false),  // Ctrl-Left is backward-word, not one character
        ("\u{1b}[200~echo hi\u{15}rm -rf /\u{1b}[201~\r", "echo hirm -rf /", false),  // ^U inside a paste is inserted, not a kill
    ])
    func editsLikeALineEditor(input: String, expected: String, certain: Bool) {
        let result = lines(input)
        #expect(result.count == 1)
        #expect(result.first?.0 == expected)
        #expect(result.first?.1 == certain)
    }

    /// A newline inside a bracketed paste does not run the line: readline keeps it in the
    /// buffer until the real Enter, so the lines are not checked one by one.
    /// An 8-bit Meta key (0xE2 is M-b, backward-word, with readline's convert-meta) is a byte
    /// that cannot start or continue UTF-8 where it stands: uncertain. Real UTF-8 is text.
    @Test func eightBitMetaKeysAreUncertain() {
        var editor = ShellLineEditor()
        let steps = editor.feed(Array("echo x".utf8) + [0xE2] + Array("y\r".utf8))
        #expect(steps.contains { if case .enter(_, false, _) = $0 { true } else { false } })
        var utf8 = ShellLineEditor()
        let text = utf8.feed(Array("echo \u{e2}\u{20ac}\r".utf8))
        #expect(text.contains { if case .enter("echo \u{e2}\u{20ac}", true, _) = $0 { true } else { false } })
    }

    @Test func aPastedNewlineIsNotAnEnter() {
        let result = lines("\u{1b}[200~echo safe\nrm -rf /\u{1b}[201~\r")
        #expect(result.count == 1)
        #expect(result.first?.1 == false)
    }

    @Test func everyByteButTheEnterIsForwarded() {
        var editor = ShellLineEditor()
        let input = Array("ls\u{1b}[D x\rpwd\n".utf8)
        let steps = editor.feed(input)
        var forwarded: [UInt8] = []
        var terminators: [UInt8] = []
        for step in steps {
            switch step {
            case .forward(let bytes): forwarded += bytes
            case .enter(_, _, let terminator): terminators.append(terminator)
            }
        }
        #expect(forwarded == Array("ls\u{1b}[D xpwd".utf8))
        #expect(terminators == [0x0d, 0x0a])
    }

    @Test func linesSplitAcrossPacketsAndEscapesSplitAcrossPackets() {
        var editor = ShellLineEditor()
        var found: [String] = []
        for chunk in ["rm -r", "f /tm", "p\u{1b}", "[D", "\u{7f}\r"] {
            for step in editor.feed(Array(chunk.utf8)) {
                if case .enter(let line, _, _) = step { found.append(line) }
            }
        }
        #expect(found == ["rm -rf /tp"])  // left over "p", then backspace removes "m"
    }

    @Test func meaninglessInputNeverCrashes() {
        var editor = ShellLineEditor()
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<2000 {
            let bytes = (0..<Int.random(in: 0..<64, using: &generator)).map { _ in UInt8.random(in: 0...255, using: &generator) }
            _ = editor.feed(bytes)
        }
        editor.reset()
        #expect(editor.currentLine.isEmpty)
    }
}

import SSHGatewayCore
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
    ])
    func editsLikeALineEditor(input: String, expected: String, certain: Bool) {
        let result = lines(input)
        #expect(result.count == 1)
        #expect(result.first?.0 == expected)
        #expect(result.first?.1 == certain)
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

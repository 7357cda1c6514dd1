import FuzzDriver
import GatewayPolicy

/// The shell parser, the command analyzer (both contexts), the interactive-line helpers and
/// the line editor on arbitrary bytes. Invariants for the editor, which sits in the data path
/// of every interactive shell: it loses no byte (what it forwards plus each Enter it reports
/// is exactly what was typed), and how the keys arrive in pieces does not change the lines it
/// reports or whether each is certain.
runFuzzer { data, size in
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    let text = String(decoding: bytes, as: UTF8.self)
    _ = ShellParser.parse(text)
    _ = ShellAnalyzer.analyze(text, context: .terminal)
    _ = ShellAnalyzer.analyze(text, context: .data)
    _ = InteractiveLine.isIncomplete(text)
    _ = InteractiveLine.expandsHistory(text)

    var whole = ShellLineEditor()
    let wholeSteps = whole.feed(bytes)
    var pieces = ShellLineEditor()
    let pattern = bytes.first ?? 0
    let piecewiseSteps = chunks(of: bytes[...], pattern: pattern).flatMap { pieces.feed($0) }

    func replay(_ steps: [ShellLineEditor.Step]) -> (bytes: [UInt8], lines: [String], certain: [Bool]) {
        var out: [UInt8] = []
        var lines: [String] = []
        var certain: [Bool] = []
        for step in steps {
            switch step {
            case .forward(let forwarded): out += forwarded
            case .enter(let line, let sure, let terminator):
                out.append(terminator)
                lines.append(line)
                certain.append(sure)
            }
        }
        return (out, lines, certain)
    }
    let a = replay(wholeSteps)
    let b = replay(piecewiseSteps)
    precondition(a.bytes == bytes, "the line editor lost or changed bytes")
    precondition(b.bytes == bytes, "the line editor lost or changed bytes fed in pieces")
    precondition(a.lines == b.lines && a.certain == b.certain, "pieces changed the lines the editor reports")
    return 0
}

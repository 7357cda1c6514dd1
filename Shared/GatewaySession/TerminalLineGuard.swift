import Foundation
import GatewayPolicy

/// The checks on lines typed into an interactive shell, for any gateway that relays one (an
/// SSH shell channel, a Kubernetes exec of a shell): keystrokes go through the line editor,
/// each line is decided at Enter, a command the shell keeps reading (a trailing backslash,
/// an open quote, a here-document) is decided whole at its last line, a line the gateway
/// could not see whole is refused, and a held line stops the input behind it until its review
/// ends. Full-screen programs (the alternate screen) pause the checks: their keys are not
/// command lines.
///
/// With a pty (`echoes`) the target echoes keystrokes, so they go on as typed and a refused
/// line is erased on the target; without one a line is sent only once it is allowed.
///
/// Not `Sendable`: used on the session's event loop only.
public final class TerminalLineGuard {
    /// What the guard needs from its relay.
    public struct Effects {
        /// Sends bytes to the target.
        public var send: ([UInt8]) -> Void
        /// Tells the client a refusal (already formatted for its terminal).
        public var tell: (String) -> Void
        /// Holds a line for review; the completion gets whether it may run (a refusal was
        /// already shown).
        public var hold: (_ line: String, _ rule: ApprovalRule, _ completion: @escaping (Bool) -> Void) -> Void
        /// A held line paused input (stop reading) / was decided (send what queued, read on).
        public var paused: () -> Void
        public var resumed: () -> Void

        public init(
            send: @escaping ([UInt8]) -> Void, tell: @escaping (String) -> Void,
            hold: @escaping (String, ApprovalRule, @escaping (Bool) -> Void) -> Void,
            paused: @escaping () -> Void, resumed: @escaping () -> Void
        ) {
            self.send = send
            self.tell = tell
            self.hold = hold
            self.paused = paused
            self.resumed = resumed
        }
    }

    /// Bound on the lines of one command kept for its check.
    static let maximumContinuedLines = 64

    public let echoes: Bool
    private let checkpoint: Checkpoint
    private let decide: (String) -> Decision
    private let effects: Effects
    private var editor = ShellLineEditor()
    /// Without a pty: the line typed so far, sent once allowed.
    private var unsentLine: [UInt8] = []
    /// Lines of a command the shell is still reading.
    private var continuedLines: [String] = []
    /// The editor's steps behind a held line.
    private var heldSteps: [ShellLineEditor.Step] = []
    public private(set) var isHolding = false
    private var alternateScreen = false

    public init(echoes: Bool, checkpoint: Checkpoint, decide: @escaping (String) -> Decision, effects: Effects) {
        self.echoes = echoes
        self.checkpoint = checkpoint
        self.decide = decide
        self.effects = effects
    }

    /// Keystrokes from the client.
    public func feed(_ bytes: UnsafeRawBufferPointer) {
        guard !alternateScreen else { return effects.send(Array(bytes)) }
        run(editor.feed(bytes)[...])
    }

    /// The client's input ended: a last line without a newline (a script piped into a shell
    /// without a pty) is checked as a line. False when that line is held.
    public func finishInput() -> Bool {
        guard !echoes, !unsentLine.isEmpty, !isHolding else { return !isHolding }
        return check(String(decoding: unsentLine, as: UTF8.self), certain: true, terminator: nil)
    }

    /// Output from the target: full-screen programs switch to the alternate screen and back.
    public func observeOutput(_ bytes: UnsafeRawBufferPointer) {
        guard bytes.contains(0x1b) else { return }
        let text = String(decoding: bytes, as: UTF8.self)
        for marker in ["\u{1b}[?1049", "\u{1b}[?1047", "\u{1b}[?47"] {
            if let range = text.range(of: marker, options: .backwards), let mode = text[range.upperBound...].first {
                if mode == "h" {
                    alternateScreen = true
                } else if mode == "l" {
                    alternateScreen = false
                    editor.reset()
                }
            }
        }
    }

    /// Applies the editor's steps until one is held.
    private func run(_ steps: ArraySlice<ShellLineEditor.Step>) {
        var remaining = steps
        while let step = remaining.popFirst() {
            switch step {
            case .forward(let bytes):
                if echoes { effects.send(bytes) } else { unsentLine.append(contentsOf: bytes) }
            case .enter(let line, let certain, let terminator):
                if !check(line, certain: certain, terminator: terminator) {
                    heldSteps = Array(remaining)
                    return
                }
            }
        }
    }

    /// Decides a line at Enter; false when it is held (the rest waits).
    private func check(_ line: String, certain: Bool, terminator: UInt8?) -> Bool {
        var text = line.trimmingCharacters(in: .whitespaces)
        if text.isEmpty, continuedLines.isEmpty {
            submit(terminator)
            return true
        }
        // The shell runs nothing before the command is complete: the line goes on, and the
        // whole command is checked at its last line.
        let whole = (continuedLines + [line]).joined(separator: "\n")
        if certain, InteractiveLine.isIncomplete(whole), continuedLines.count < Self.maximumContinuedLines {
            continuedLines.append(line)
            submit(terminator)
            return true
        }
        if !continuedLines.isEmpty { text = whole }
        switch checkpoint.pass(Self.refinedDecision(decide(text), line: text, certain: certain), command: text) {
        case .forward:
            continuedLines = []
            submit(terminator)
            return true
        case .refuse(_, let reason, denied: true):
            discard(message: "access gateway: \(reason)")
            return true
        case .refuse(_, let message, denied: false):
            discard(message: "access gateway: \(message); the line was not run")
            return true
        case .hold(let rule):
            isHolding = true
            effects.paused()
            effects.hold(text, rule) { [self] proceed in
                isHolding = false
                if proceed {
                    continuedLines = []
                    submit(terminator)
                } else {
                    discard(message: nil)
                }
                let steps = heldSteps
                heldSteps = []
                run(steps[...])
                if !isHolding { effects.resumed() }
            }
            return false
        }
    }

    /// The policy's decision, refused where the gateway cannot vouch for the line: the
    /// editor lost track of it, or history expansion would change it after the check.
    static func refinedDecision(_ decision: Decision, line: String, certain: Bool) -> Decision {
        guard case .allow = decision else { return decision }
        if !certain {
            return .block(
                rule: "line-editing",
                message: "the gateway cannot see the whole line (Tab completion, history recall, a paste with control keys or a Meta key changed it); type the command out in full",
                statement: line
            )
        }
        if InteractiveLine.expandsHistory(line) {
            return .block(
                rule: "history-expansion",
                message: "history expansion (!!, !$, !word, ^old^new) would change the line after the gateway checked it; type the command out, or quote the !",
                statement: line
            )
        }
        return decision
    }

    private func submit(_ terminator: UInt8?) {
        var bytes = unsentLine
        unsentLine = []
        if let terminator { bytes.append(terminator) }
        if !bytes.isEmpty { effects.send(bytes) }
    }

    /// Drops a refused line (recorded and audited by the checkpoint, or by the review that
    /// refused it). With a pty the target already echoed it: a single line is erased and an
    /// empty one submitted for a fresh prompt; lines of a longer command already went to the
    /// shell, so ^C discards all of it (^U and Enter would run them).
    private func discard(message: String?) {
        let continued = !continuedLines.isEmpty
        continuedLines = []
        if echoes {
            if let message { effects.tell("\r\n\(message)\r\n") }
            effects.send(continued ? [0x03] : [0x05, 0x15, 0x0d])
        } else {
            unsentLine = []
            if let message { effects.tell("\(message)\n") }
        }
    }
}

import GatewayConfig
import GatewayRecording
import NIOSSH

/// What a session channel's client asked for before and with its start request: the pty,
/// the terminal size, the environment variables the connection lets through, the
/// justification (`GATEWAY_REASON`) and what to start. Replayed to the target's channel
/// once the command is allowed.
struct ChannelSetup {
    enum Kind: Equatable {
        case exec(String)
        case shell
        case subsystem(String)

        var label: String {
            switch self {
            case .exec(let command): command
            case .shell: "shell"
            case .subsystem(let name): "subsystem \(name)"
            }
        }
    }

    var kind: Kind?
    var pty: SSHChannelRequestEvent.PseudoTerminalRequest?
    var size: (width: Int, height: Int)?
    var environment: [SSHChannelRequestEvent.EnvironmentRequest] = []
    var justification: String?

    var isShell: Bool { kind == .shell }
    /// The client's newline: a terminal's `\r\n`, a pipe's `\n`.
    var newline: String { pty != nil ? "\r\n" : "\n" }

    /// The asciicast header's terminal: a 0×0 pty (what `ssh -tt` asks for when its own input
    /// is not a terminal) is recorded as 80×24, since players cannot size a zero terminal.
    var terminal: TerminalInfo {
        let width = size.map { $0.width > 0 ? $0.width : 80 } ?? 80
        let height = size.map { $0.height > 0 ? $0.height : 24 } ?? 24
        let command: String? = if case .exec(let text) = kind { text } else { nil }
        return TerminalInfo(width: width, height: height, command: command, term: pty?.term)
    }

    /// The requests that set the target's channel up as the client asked, in order, each with
    /// whether the target's answer goes to the client (only the start's does; nil: no answer).
    func replay() -> [(request: any Sendable, answerToClient: Bool?)] {
        var requests: [(any Sendable, Bool?)] = []
        if let pty {
            let (width, height) = size ?? (pty.terminalCharacterWidth, pty.terminalRowHeight)
            requests.append((SSHChannelRequestEvent.PseudoTerminalRequest(
                wantReply: true, term: pty.term, terminalCharacterWidth: width, terminalRowHeight: height,
                terminalPixelWidth: pty.terminalPixelWidth, terminalPixelHeight: pty.terminalPixelHeight, terminalModes: pty.terminalModes
            ), false))
        }
        for request in environment {
            requests.append((SSHChannelRequestEvent.EnvironmentRequest(wantReply: false, name: request.name, value: request.value), nil))
        }
        switch kind {
        case .exec(let command): requests.append((SSHChannelRequestEvent.ExecRequest(command: command, wantReply: true), true))
        case .shell: requests.append((SSHChannelRequestEvent.ShellRequest(wantReply: true), true))
        case .subsystem(let name): requests.append((SSHChannelRequestEvent.SubsystemRequest(subsystem: name, wantReply: true), true))
        case nil: break
        }
        return requests
    }
}

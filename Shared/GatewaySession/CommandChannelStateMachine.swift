/// The life of one command channel (an SSH exec, shell or subsystem channel; a Kubernetes
/// exec or attach stream) as a pure state machine: each event the relay sees goes in, the
/// action the relay must take comes out. It knows no protocol and does no I/O, so every
/// transition, and every event that is illegal where it arrives, is tested without sockets.
///
///     setup ─start→ deciding ─forward→ opening ─opened→ running ─client EOF→ halfClosed
///                      │  └─hold→ held ─approved→ opening        │                │
///                      └─refuse→ exiting ←─────────── target closed / idle ───────┘
///                                   └─client closed→ closed
///
/// What the machine keeps is only what decides the next action: whether the client waits for
/// an answer to its start request, whether input is paused behind a held line, whether the
/// client's EOF came while its input was still queued, and the command's exit.
public struct CommandChannelStateMachine: Sendable, Equatable {
    public enum State: Sendable, Equatable {
        /// Before the start request: settings (a pty, environment variables) are kept.
        case setup
        /// The command is being checked.
        case deciding
        /// The command waits for a review.
        case held
        /// Allowed: the target's channel is being opened.
        case opening
        /// Relaying both ways.
        case running
        /// The client sent EOF and it went on to the target; output still flows.
        case halfClosed
        /// The command ended (or was refused): output is flushed, the exit goes out, then close.
        case exiting
        /// The client's channel is gone.
        case closed
    }

    /// How the command ended, as the client is told.
    public enum Exit: Sendable, Equatable {
        case status(Int)
        case signal(String)
    }

    public enum Action: Sendable, Equatable {
        /// Nothing to do (the event changes nothing here, or is stale).
        case none
        /// Keep the setting and answer yes (if asked).
        case acceptSetting
        /// Answer no (if asked): a setting after the start, a second start.
        case rejectRequest
        /// Check the command (then report `decided`).
        case decide
        /// Answer the start request now (`replyToStart`) and tell the client that the command
        /// waits for review.
        case announceHold(replyToStart: Bool)
        /// Open the target's channel (then report `upstreamOpened` or `upstreamFailed`).
        case openUpstream
        /// Replay the kept settings and the start request to the target, then send what the
        /// client sent meanwhile.
        case startUpstream
        /// The target's channel opened too late (the client left): close it.
        case closeUpstream
        /// Answer the client's start request.
        case replyToStart(Bool)
        /// Relay the client's input.
        case forwardInput
        /// Keep the client's input for later and stop reading.
        case queueInput
        /// Send the client's EOF on to the target (after its last, unterminated line: if
        /// that line is held, report `inputPaused`, and this action comes again when the
        /// review ends).
        case sendEOFUpstream
        /// Refuse the command: answer the start (`replyToStart`), say why, and end with `exit`.
        case refuse(replyToStart: Bool, exit: Exit)
        /// End the channel: flush output, record the exit (`ran`: the command was started on
        /// the target), send it after everything written, close.
        case end(exit: Exit?, ran: Bool)
        /// The client left: close the target's channel.
        case closeBoth
    }

    public private(set) var state = State.setup
    /// The client asked for a reply to its start request and has none yet.
    public private(set) var startReplyPending = false
    /// Input is paused behind a line held for review.
    public private(set) var inputHeld = false
    /// The client's EOF arrived while input was queued or held: sent once it is drained.
    public private(set) var clientEOFPending = false
    public private(set) var exit: Exit?

    /// The exit status of a refused command, as a shell reports "cannot execute".
    public static let refusedStatus = 126
    /// The exit status when the target could not be used, as `ssh` reports its own failures.
    public static let gatewayFailureStatus = 255

    public init() {}

    // MARK: - Before the start

    /// A setting (pty, environment variable) arrived.
    public mutating func settingRequested() -> Action {
        state == .setup ? .acceptSetting : .rejectRequest
    }

    /// The start request (exec, shell, subsystem) arrived.
    public mutating func startRequested(wantReply: Bool) -> Action {
        guard state == .setup else { return .rejectRequest }
        state = .deciding
        startReplyPending = wantReply
        return .decide
    }

    /// The checkpoint's verdict on the command.
    public mutating func decided(_ verdict: Checkpoint.Verdict) -> Action {
        guard state == .deciding else { return .none }
        switch verdict {
        case .forward:
            state = .opening
            return .openUpstream
        case .refuse:
            return refuse(status: Self.refusedStatus)
        case .hold:
            state = .held
            return .announceHold(replyToStart: takeStartReply())
        }
    }

    /// The review of a held command ended.
    public mutating func reviewEnded(approved: Bool) -> Action {
        guard state == .held else { return .none }
        guard approved else {
            state = .exiting
            exit = exit ?? .status(Self.refusedStatus)
            return .end(exit: exit, ran: false)
        }
        state = .opening
        return .openUpstream
    }

    // MARK: - The target's channel

    public mutating func upstreamOpened() -> Action {
        guard state == .opening else { return .closeUpstream }
        state = .running
        return .startUpstream
    }

    public mutating func upstreamFailed() -> Action {
        guard state == .opening else { return .none }
        return refuse(status: Self.gatewayFailureStatus)
    }

    /// The target answered the start request (the first answer forwarded to the client).
    public mutating func upstreamAnsweredStart(success: Bool) -> Action {
        guard startReplyPending, state == .running || state == .halfClosed else { return .none }
        startReplyPending = false
        return .replyToStart(success)
    }

    public mutating func upstreamExited(_ exit: Exit) {
        if state != .closed, state != .exiting { self.exit = exit }
    }

    /// The target closed its channel: the command is over.
    public mutating func upstreamClosed() -> Action {
        switch state {
        case .opening, .running, .halfClosed:
            state = .exiting
            return .end(exit: exit, ran: true)
        case .setup, .deciding, .held, .exiting, .closed:
            return .none
        }
    }

    // MARK: - The client's input

    public mutating func clientInput() -> Action {
        switch state {
        case .running:
            return inputHeld ? .queueInput : .forwardInput
        case .setup, .deciding, .held, .opening:
            return .queueInput
        case .halfClosed, .exiting, .closed:
            // Nothing after EOF; nothing once the command ended.
            return .none
        }
    }

    /// A line of input is held for review: later input queues behind it. (In `halfClosed`:
    /// the client's last line, checked as EOF went out, is held; EOF waits for it.)
    public mutating func inputPaused() {
        if state == .running || state == .halfClosed { inputHeld = true }
    }

    /// The held line was decided. In `halfClosed` the held line was the last: EOF goes on now.
    /// In `running` the relay sends what queued behind the line, then reports `queueDrained`.
    public mutating func inputResumed() -> Action {
        guard inputHeld, state == .running || state == .halfClosed else { return .none }
        inputHeld = false
        return state == .halfClosed ? .sendEOFUpstream : .none
    }

    /// Queued input went out after the start: EOF follows if it came and nothing waits.
    public mutating func queueDrained() -> Action {
        guard state == .running, !inputHeld else { return .none }
        return eofIfPending()
    }

    public mutating func clientEOF(queueEmpty: Bool) -> Action {
        switch state {
        case .running where queueEmpty && !inputHeld:
            state = .halfClosed
            return .sendEOFUpstream
        case .setup, .deciding, .held, .opening, .running:
            clientEOFPending = true
            return .none
        case .halfClosed, .exiting, .closed:
            return .none
        }
    }

    // MARK: - Ending

    /// The gateway ends the channel (idle timeout, kill, token expiry).
    public mutating func endedByGateway() -> Action {
        switch state {
        case .exiting, .closed:
            return .none
        case .setup, .deciding, .held:
            state = .exiting
            exit = exit ?? .status(Self.gatewayFailureStatus)
            return .end(exit: exit, ran: false)
        case .opening, .running, .halfClosed:
            state = .exiting
            exit = exit ?? .status(Self.gatewayFailureStatus)
            return .end(exit: exit, ran: true)
        }
    }

    /// The client's channel closed.
    public mutating func clientClosed() -> Action {
        guard state != .closed else { return .none }
        state = .closed
        return .closeBoth
    }

    /// Whether the session counts as waiting on a person (a review), for the idle clock.
    public var isHeld: Bool { state == .held || inputHeld }

    private mutating func refuse(status: Int) -> Action {
        state = .exiting
        exit = .status(status)
        return .refuse(replyToStart: takeStartReply(), exit: .status(status))
    }

    private mutating func takeStartReply() -> Bool {
        defer { startReplyPending = false }
        return startReplyPending
    }

    private mutating func eofIfPending() -> Action {
        guard clientEOFPending else { return .none }
        clientEOFPending = false
        state = .halfClosed
        return .sendEOFUpstream
    }
}

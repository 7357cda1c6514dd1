import Foundation
import GatewayConfig
import GatewayMasking
import GatewayPolicy
import GatewayRecording
import GatewayRuntime
import NIOCore

/// Runs one command channel (an SSH exec, shell or subsystem; a Kubernetes exec or attach)
/// on the session core, whatever the protocol: the command goes through the checkpoint before
/// the target's channel opens, a refusal is said on stderr and ends with exit status 126, a
/// hold announces its review and waits, input waits in order while the target is not ready or
/// a line is held, typed lines go through the line guard, output is masked and recorded, and
/// the exit is recorded (with what masking hid) and sent after everything written. Its life is
/// `CommandChannelStateMachine`'s; the protocol is the `CommandChannelTransport`.
///
/// Not `Sendable`: used on the session's event loop only (the review's task hops back).
public final class CommandChannelDriver {
    public typealias Machine = CommandChannelStateMachine

    public let session: Session
    public let eventLoop: any EventLoop
    /// Bytes relayed, reported to the metrics once a second.
    public let bytes: ByteTally
    /// Counts reviews in flight (the session's idle clock does not run out while one waits).
    private let reviews: (_ started: Bool) -> Void
    private let started = ContinuousClock.now
    private weak var transport: (any CommandChannelTransport)?
    public private(set) var machine = Machine()
    public private(set) var command: Command?
    /// Client input waiting for the target, or behind a held line.
    private var queued: [ByteBuffer] = []
    private var output: OutputMasking?
    private var lines: TerminalLineGuard?
    /// The exit went out: nothing more is written to the client.
    private var outputClosed = false

    public init(session: Session, eventLoop: any EventLoop, transport: any CommandChannelTransport, reviews: @escaping (Bool) -> Void = { _ in }) {
        self.session = session
        self.eventLoop = eventLoop
        self.transport = transport
        self.reviews = reviews
        self.bytes = ByteTally(metrics: session.environment.metrics)
    }

    public var isRunning: Bool { machine.state == .running || machine.state == .halfClosed }
    var recorder: SessionRecorder? { session.recorder }

    /// A setting before the start (pty, environment): whether it may still be kept.
    public func settingRequested() -> Bool {
        machine.settingRequested() == .acceptSetting
    }

    // MARK: - Starting

    /// The client's start request: false when it comes too late (answer no). Otherwise the
    /// command is decided (`decide`) and its verdict spoken.
    public func start(_ command: Command, wantReply: Bool, decide: () -> Decision) -> Bool {
        guard machine.startRequested(wantReply: wantReply) == .decide else { return false }
        self.command = command
        let verdict = checkpoint(eventType: command.eventType).pass(decide(), command: command.label)
        let action = machine.decided(verdict)
        switch verdict {
        case .forward:
            perform(action)
        case .refuse(_, let message, _) where command.refusalFailsStart:
            say("access gateway: \(message)\n", stream: .stderr)
            transport?.flushClient()
            if case .refuse(replyToStart: true, _) = action { transport?.replyToStart(false) }
        case .refuse(_, let reason, denied: true):
            perform(action, refusal: "access gateway: \(reason)")
        case .refuse(_, let message, denied: false):
            perform(action, refusal: "access gateway: \(message); the command was not run")
        case .hold(let rule):
            perform(action)
            hold(command.label, rule: rule) { [self] approved in perform(machine.reviewEnded(approved: approved)) }
        }
        return true
    }

    /// The target's channel opened: set it up and send what queued.
    public func upstreamOpened() -> Bool {
        guard machine.upstreamOpened() == .startUpstream else { return false }
        perform(.startUpstream)
        return true
    }

    /// The target's channel could not be opened: said on stderr, exit 255.
    public func upstreamFailed(_ message: String) {
        let action = machine.upstreamFailed()
        guard case .refuse = action else { return }
        recorder?.record(RecordingEvent(type: .error, command: command?.label, error: message))
        perform(action, refusal: message)
    }

    /// The target answered the start request.
    public func upstreamAnsweredStart(success: Bool) {
        perform(machine.upstreamAnsweredStart(success: success))
        if !success {
            recorder?.record(RecordingEvent(type: .error, command: command?.label, error: "the target refused the request"))
        }
    }

    public func upstreamExited(_ exit: Machine.Exit) {
        machine.upstreamExited(exit)
    }

    // MARK: - The machine's actions

    private func perform(_ action: Machine.Action, refusal: String? = nil) {
        switch action {
        case .none, .acceptSetting, .rejectRequest, .decide, .forwardInput, .queueInput, .closeUpstream:
            // Answered where the event arrived.
            break
        case .announceHold(let replyToStart):
            // The channel opens, so the client shows the notice while it waits.
            if replyToStart { transport?.replyToStart(true) }
        case .openUpstream:
            prepareOutput()
            transport?.openUpstream()
        case .startUpstream:
            bytes.start(on: eventLoop)
            transport?.startUpstream()
            drainQueued()
        case .replyToStart(let success):
            transport?.replyToStart(success)
        case .sendEOFUpstream:
            // A last line without a newline is checked first; if it is held, EOF waits.
            if let lines, !lines.finishInput() { return }
            transport?.closeUpstreamOutput()
        case .refuse(let replyToStart, let exit):
            if replyToStart { transport?.replyToStart(true) }
            if let refusal { say(refusal + "\n", stream: .stderr) }
            finish(exit: exit, ran: false)
        case .end(let exit, let ran):
            finish(exit: exit, ran: ran)
        case .closeBoth:
            transport?.closeUpstream()
            bytes.stop()
            // The masking and line guard call back into this driver: released with it.
            output = nil
            lines = nil
        }
    }

    private func prepareOutput() {
        guard let command else { return }
        let masking = MaskingEngine(policy: session.connection.masking)
        if masking.scansValues && !command.binary {
            output = OutputMasking(
                engine: masking, eventLoop: eventLoop, interactive: command.interactive,
                tally: MaskingTally(environment: session.environment, identity: session.identity, connection: session.connection.name, sessionID: session.sessionID),
                deliver: { [weak self] stream, bytes in self?.deliver(ByteBuffer(bytes: bytes), stream: stream) },
                flushed: { [weak self] in self?.transport?.flushClient() }
            )
        }
        if command.checksLines { lines = makeLineGuard(command) }
    }

    // MARK: - Reviews

    /// Holds a command or line for review; `then` runs on the event loop with the verdict. A
    /// refusal has already been shown to the client.
    private func hold(_ text: String, rule: ApprovalRule, then: @escaping (Bool) -> Void) {
        guard let command else { return }
        let gate = ApprovalGate(
            environment: session.environment, identity: session.identity, connection: session.connection.name, sessionID: session.sessionID,
            clientAddress: session.clientAddress, eventType: command.eventType == .shell ? .line : .exec, noun: "command"
        )
        let newline = command.newline
        // In a terminal's shell the notice shows where the line was typed; elsewhere on stderr.
        let stream: OutputMasking.Stream = command.eventType == .shell && command.interactive ? .stdout : .stderr
        guard let connected = transport?.clientConnected else { return }
        reviews(true)
        ApprovalHold(gate: gate, eventLoop: eventLoop, recorder: recorder).hold(
            text, rule: rule, justification: command.justification, isClientConnected: connected,
            announce: { [self] notice, review in
                say("\(newline)\(notice)\(newline)approve with: gatewayctl reviews approve \(review.id)\(newline)", stream: stream)
                transport?.flushClient()
            },
            then: { [self] outcome in
                reviews(false)
                switch outcome {
                case .proceed:
                    then(true)
                case .refused(let message):
                    say("\(newline)\(message)\(newline)", stream: stream)
                    transport?.flushClient()
                    then(false)
                }
            }
        )
    }

    private func makeLineGuard(_ command: Command) -> TerminalLineGuard {
        let (policy, identity, rules) = (session.environment.policy, session.identity, session.connection.policy)
        return TerminalLineGuard(
            echoes: command.interactive, checkpoint: checkpoint(eventType: .line),
            decide: { policy.decide(.line($0), by: identity, on: rules) },
            effects: .init(
                send: { [weak self] bytes in self?.transport?.sendUpstream(ByteBuffer(bytes: bytes)) },
                tell: { [weak self] text in
                    // In a terminal the refusal shows where the line was; without one, on stderr.
                    self?.say(text, stream: command.interactive ? .stdout : .stderr)
                    self?.transport?.flushClient()
                },
                hold: { [weak self] line, rule, completion in
                    self?.hold(line, rule: rule) { [weak self] proceed in
                        guard let self, isRunning else { return }
                        completion(proceed)
                    }
                },
                paused: { [weak self] in
                    guard let self else { return }
                    machine.inputPaused()
                    transport?.pauseClientReads()
                    transport?.flushUpstream()
                },
                resumed: { [weak self] in
                    guard let self else { return }
                    if machine.inputResumed() == .sendEOFUpstream { perform(.sendEOFUpstream) } else { drainQueued() }
                }
            )
        )
    }

    private func checkpoint(eventType: RecordingEventType) -> Checkpoint {
        Checkpoint(
            environment: session.environment, identity: session.identity, connection: session.connection.name, sessionID: session.sessionID,
            recorder: recorder, eventType: eventType
        )
    }

    // MARK: - Input

    /// The client's input (stdin).
    public func clientInput(_ input: ByteBuffer) {
        switch machine.clientInput() {
        case .forwardInput:
            relayInput(input)
        case .queueInput:
            queued.append(input)
            transport?.pauseClientReads()
        default:
            break
        }
    }

    public func clientEOF() {
        perform(machine.clientEOF(queueEmpty: queued.isEmpty))
    }

    private func relayInput(_ input: ByteBuffer) {
        if machine.inputHeld {
            queued.append(input)
            return
        }
        bytes.sentUpstream(input.readableBytes)
        transport?.inputArrived(input)
        if let lines {
            input.withUnsafeReadableBytes { lines.feed($0) }
        } else {
            transport?.sendUpstream(input)
        }
    }

    /// Sends what the client sent while the target was not ready or a line was held (a line
    /// in it may be held again), then its EOF if it came, then reads on.
    private func drainQueued() {
        let queued = self.queued
        self.queued = []
        for input in queued { relayInput(input) }
        transport?.flushUpstream()
        guard !machine.inputHeld else { return }
        if self.queued.isEmpty { perform(machine.queueDrained()) }
        if isRunning, !machine.inputHeld { transport?.resumeClientReads() }
    }

    // MARK: - Output

    /// Output from the target, masked and recorded on its way to the client.
    public func upstreamOutput(_ buffer: ByteBuffer, stream: OutputMasking.Stream) {
        bytes.sentDownstream(buffer.readableBytes)
        // Masking rewrites text; a binary stream (a tar of `kubectl cp`, `cat` of an image)
        // would reach the client corrupted without a word. It is cut off instead, and said so.
        if output != nil, buffer.readableBytesView.contains(0) {
            return endByGateway("access gateway: the command's output is binary (it holds NUL bytes), which a connection with masking cannot pass on unaltered; the output was cut off")
        }
        buffer.withUnsafeReadableBytes { bytes in
            lines?.observeOutput(bytes)
            output?.process(bytes, on: stream)
        }
        if output == nil { deliver(buffer, stream: stream) }
    }

    /// The target's output ended: what masking held back goes out now.
    public func upstreamOutputEnded() {
        output?.flush()
        transport?.flushClient()
    }

    private func deliver(_ buffer: ByteBuffer, stream: OutputMasking.Stream) {
        guard buffer.readableBytes > 0, !outputClosed else { return }
        if command?.binary != true {
            buffer.withUnsafeReadableBytes { recorder?.output($0) }
        }
        transport?.sendToClient(buffer, stream: stream)
    }

    /// Tells the client something of the gateway's own (recorded with the output).
    public func say(_ text: String, stream: OutputMasking.Stream) {
        deliver(ByteBuffer(string: text), stream: stream)
    }

    // MARK: - Ending

    /// The gateway ends the channel (idle timeout, kill, shutdown, token expiry): the client
    /// is told why on stderr.
    public func endByGateway(_ message: String) {
        let action = machine.endedByGateway()
        guard case .end = action else { return }
        let interactive = command?.interactive ?? false
        say((interactive ? "\r\n" : "") + message + (interactive ? "\r\n" : "\n"), stream: .stderr)
        transport?.closeUpstream()
        perform(action)
    }

    public func upstreamClosed() {
        perform(machine.upstreamClosed())
    }

    public func clientClosed() {
        perform(machine.clientClosed())
    }

    /// Ends the client's channel after everything written. The exit is recorded (with what
    /// masking hid) when the command ran or was refused.
    private func finish(exit: Machine.Exit?, ran: Bool) {
        output?.flush()
        transport?.flushClient()
        let masked = output?.close(command: command?.label)
        bytes.stop()
        if ran || exit != nil {
            var event = RecordingEvent(type: .exit, command: command?.label)
            switch exit {
            case .status(let status): event.exitStatus = status
            case .signal(let name): event.signal = name
            case nil: break
            }
            event.durationMS = (ContinuousClock.now - started).milliseconds
            event.masked = masked
            recorder?.record(event)
        }
        outputClosed = true
        transport?.sendExit(exit)
    }
}

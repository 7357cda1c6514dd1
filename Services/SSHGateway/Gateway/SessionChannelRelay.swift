import Foundation
import GatewayConfig
import GatewayMasking
import GatewayPolicy
import GatewaySession
import GatewayRecording
import GatewayRuntime
import NIOCore
import NIOSSH
import SSHGatewayCore

/// One `session` channel (exec, shell or subsystem) between a client and the target, confined
/// to the event loop both channels share. The channel's life is `CommandChannelStateMachine`'s;
/// this type speaks SSH for it: it keeps the requests before the start (pty, env) and replays
/// them to the target, decides the command through the checkpoint, says a refusal on stderr
/// with exit status 126, masks and records output, and hands typed lines to the line guard.
///
/// `@unchecked Sendable` because it is handed to review tasks and back; every mutable field is
/// touched on `eventLoop` only.
final class SessionChannelRelay: RelayEndpoint, @unchecked Sendable {
    typealias Inbound = SSHChannelData
    typealias Output = ChannelOutput<SSHChannelData>
    typealias Machine = CommandChannelStateMachine

    let owner: SSHClientConnection
    let session: SSHClientConnection.Authenticated
    let eventLoop: any EventLoop
    let masking: MaskingEngine
    private let link: RelayLink<Output, Output>
    private let started = ContinuousClock.now
    private var machine = Machine()
    private var setup = ChannelSetup()
    /// For each request sent to the target with want-reply: whether its answer goes to the client.
    private var replies: [Bool] = []
    /// Client data waiting for the target, or behind a held line.
    private var queued: [SSHChannelData] = []
    private var output: OutputMasking?
    private var lines: TerminalLineGuard?
    private var sftp: SFTPRequestDecoder?
    private var exitSignal: SSHChannelRequestEvent.ExitSignal?
    /// The exit went out: nothing more is written to the client.
    private var clientOutputClosed = false

    init(owner: SSHClientConnection, session: SSHClientConnection.Authenticated, client: any Channel) {
        self.owner = owner
        self.session = session
        self.eventLoop = client.eventLoop
        self.masking = MaskingEngine(policy: session.connection.masking)
        // The client's writes are tracked: the exit status goes out only after them.
        self.link = RelayLink(client: Output(channel: client, tracksWrites: true), upstream: nil)
        owner.register(self)
    }

    var client: any Channel { link.client.channel }
    var environment: GatewayEnvironment { owner.environment }
    var connection: ConnectionConfiguration { session.connection }
    var recorder: SessionRecorder? { session.tracked.recorder }
    private var isRunning: Bool { machine.state == .running || machine.state == .halfClosed }

    /// Where this channel's decisions become metrics, recording lines and audit events.
    private func checkpoint(eventType: String) -> Checkpoint {
        Checkpoint(environment: environment, identity: session.identity, connection: connection.name, sessionID: owner.sessionID, recorder: recorder, eventType: eventType)
    }

    /// The gateway ends the channel (idle timeout, kill, shutdown, token expiry): the client is
    /// told why on stderr.
    func endByGateway(_ message: String) {
        eventLoop.preconditionInEventLoop()
        let action = machine.endedByGateway()
        guard case .end = action else { return }
        writeToClient((setup.pty != nil ? "\r\n" : "") + message + setup.newline, stderr: true)
        link.closeUpstream()
        perform(action)
    }

    // MARK: - The machine's actions

    private func perform(_ action: Machine.Action, refusal: String? = nil) {
        switch action {
        case .none, .acceptSetting, .rejectRequest, .decide, .forwardInput, .queueInput, .closeUpstream:
            // Answered where the event arrived.
            break
        case .announceHold(let replyToStart):
            // The channel opens, so the client shows the notice while it waits.
            reply(replyToStart, true)
        case .openUpstream:
            openUpstream()
        case .startUpstream:
            startUpstream()
        case .replyToStart(let success):
            reply(true, success)
        case .sendEOFUpstream:
            // A last line without a newline is checked first; if it is held, EOF waits.
            if let lines, !lines.finishInput() { return }
            link.closeUpstreamOutput()
        case .refuse(let replyToStart, let exit):
            reply(replyToStart, true)
            if let refusal { writeToClient(refusal + "\n", stderr: true) }
            finish(exit: exit, ran: false)
        case .end(let exit, let ran):
            finish(exit: exit, ran: ran)
        case .closeBoth:
            owner.unregister(self)
            link.closeUpstream()
            // The masking and line guard call back into this relay: released with it.
            output = nil
            lines = nil
        }
    }

    // MARK: - Client requests

    func event(_ event: Any, from side: RelaySide) {
        eventLoop.preconditionInEventLoop()
        if side == .upstream { return upstreamEvent(event) }
        switch event {
        case let request as SSHChannelRequestEvent.PseudoTerminalRequest:
            guard machine.settingRequested() == .acceptSetting else { return reply(request.wantReply, false) }
            setup.pty = request
            setup.size = (request.terminalCharacterWidth, request.terminalRowHeight)
            reply(request.wantReply, true)
        case let request as SSHChannelRequestEvent.EnvironmentRequest:
            if request.name == "GATEWAY_REASON" {
                setup.justification = request.value
                reply(request.wantReply, true)
            } else if machine.settingRequested() == .acceptSetting && connection.allowEnvironment.contains(request.name) {
                setup.environment.append(request)
                reply(request.wantReply, true)
            } else {
                reply(request.wantReply, false)
            }
        case let request as SSHChannelRequestEvent.ExecRequest:
            start(.exec(request.command), wantReply: request.wantReply)
        case let request as SSHChannelRequestEvent.ShellRequest:
            start(.shell, wantReply: request.wantReply)
        case let request as SSHChannelRequestEvent.SubsystemRequest:
            start(.subsystem(request.subsystem), wantReply: request.wantReply)
        case let request as SSHChannelRequestEvent.WindowChangeRequest:
            setup.size = (request.terminalCharacterWidth, request.terminalRowHeight)
            guard isRunning, let upstream = link.upstream?.channel else { return }
            upstream.triggerUserOutboundEvent(request, promise: nil)
            if request.terminalCharacterWidth > 0, request.terminalRowHeight > 0 {
                recorder?.resize(width: request.terminalCharacterWidth, height: request.terminalRowHeight)
            }
        case let request as SSHChannelRequestEvent.SignalRequest:
            guard isRunning, let upstream = link.upstream?.channel else { return }
            upstream.triggerUserOutboundEvent(request, promise: nil)
            recorder?.record(RecordingEvent(type: "signal", signal: request.signal))
        case let event as ChannelEvent where event == .inputClosed:
            perform(machine.clientEOF(queueEmpty: queued.isEmpty))
        default:
            break
        }
    }

    private func reply(_ wanted: Bool, _ success: Bool) {
        guard wanted else { return }
        if success {
            client.triggerUserOutboundEvent(ChannelSuccessEvent(), promise: nil)
        } else {
            client.triggerUserOutboundEvent(ChannelFailureEvent(), promise: nil)
        }
    }

    private func start(_ kind: ChannelSetup.Kind, wantReply: Bool) {
        guard machine.startRequested(wantReply: wantReply) == .decide else { return reply(wantReply, false) }
        setup.kind = kind
        // The cast starts before the decision, so a refusal the client saw is in it too.
        if case .subsystem = kind {} else { owner.beginTerminal(setup.terminal) }
        switch kind {
        case .exec(let command):
            let decision = environment.policy.decide(.shell(command), by: session.identity, on: connection.policy)
            decided(checkpoint(eventType: "exec").pass(decision, command: command), command: command)
        case .shell:
            decided(checkpoint(eventType: "shell").pass(.allow, command: kind.label), command: kind.label)
        case .subsystem(let name) where name == "sftp" && connection.allowSFTP:
            sftp = SFTPRequestDecoder()
            decided(checkpoint(eventType: "subsystem").pass(.allow, command: kind.label), command: kind.label)
        case .subsystem(let name):
            let message = name == "sftp" ? "sftp is not allowed on connection \"\(connection.name)\"" : "subsystem \"\(name)\" is not supported"
            _ = checkpoint(eventType: "subsystem").pass(.block(rule: "sftp", message: message, statement: kind.label), command: kind.label)
            // The subsystem request fails; the client closes the channel.
            _ = machine.decided(.refuse(rule: "sftp", message: message, denied: false))
            writeToClient("access gateway: \(message)\n", stderr: true)
            link.flushClient()
            reply(wantReply, false)
        }
    }

    /// Speaks the checkpoint's verdict on the command: a refusal on stderr, a hold's notice.
    private func decided(_ verdict: Checkpoint.Verdict, command: String) {
        let action = machine.decided(verdict)
        switch verdict {
        case .forward:
            perform(action)
        case .refuse(_, let reason, denied: true):
            perform(action, refusal: "access gateway: \(reason)")
        case .refuse(_, let message, denied: false):
            perform(action, refusal: "access gateway: \(message); the command was not run")
        case .hold(let rule):
            perform(action)
            hold(command, rule: rule) { [self] approved in perform(machine.reviewEnded(approved: approved)) }
        }
    }

    /// Holds a command or line for review; `then` runs on the event loop with the verdict. A
    /// refusal has already been shown to the client.
    private func hold(_ command: String, rule: ApprovalRule, then: @escaping (Bool) -> Void) {
        let gate = ApprovalGate(
            environment: environment, identity: session.identity, connection: connection.name, sessionID: owner.sessionID,
            clientAddress: owner.clientAddress, eventType: setup.isShell ? "line" : "exec", noun: "command"
        )
        let newline = setup.newline
        let toStderr = !setup.isShell || setup.pty == nil
        owner.reviewStarted()
        ApprovalHold(gate: gate, eventLoop: eventLoop, recorder: recorder).hold(
            command, rule: rule, justification: setup.justification, isClientConnected: { [client] in client.isActive },
            announce: { [self] notice, review in
                writeToClient("\(newline)\(notice)\(newline)approve with: gatewayctl reviews approve \(review.id)\(newline)", stderr: toStderr)
                link.flushClient()
            },
            then: { [self] outcome in
                owner.reviewEnded()
                switch outcome {
                case .proceed:
                    then(true)
                case .refused(let message):
                    writeToClient("\(newline)\(message)\(newline)", stderr: toStderr)
                    link.flushClient()
                    then(false)
                }
            }
        )
    }

    // MARK: - Opening the target's channel

    private func openUpstream() {
        // SFTP is a binary protocol with length-prefixed fields: masking would corrupt it.
        // File transfers are audited by path instead (see SFTPRequestDecoder).
        if masking.scansValues && sftp == nil {
            output = OutputMasking(
                engine: masking, eventLoop: eventLoop, interactive: setup.pty != nil,
                tally: MaskingTally(environment: environment, identity: session.identity, connection: connection.name, sessionID: owner.sessionID),
                deliver: { [weak self] stream, bytes in self?.deliver(ByteBuffer(bytes: bytes), stderr: stream == .stderr) },
                flushed: { [weak self] in self?.link.flushClient() }
            )
        }
        if setup.isShell && (!connection.guardrails.isEmpty || !connection.approvals.isEmpty) {
            lines = makeLineGuard()
        }
        let relay = self
        owner.upstreamChannel()
            .flatMap { parent in
                UpstreamSSH.openChannel(on: parent, type: .session) { child in
                    try child.pipeline.syncOperations.addHandler(RelaySideHandler(endpoint: relay, side: .upstream))
                }
            }
            .whenComplete { result in
                switch result {
                case .success(let channel): relay.upstreamOpened(channel)
                case .failure(let error): relay.upstreamFailed(error)
                }
            }
    }

    private func makeLineGuard() -> TerminalLineGuard {
        let (policy, identity, rules) = (environment.policy, session.identity, connection.policy)
        return TerminalLineGuard(
            echoes: setup.pty != nil, checkpoint: checkpoint(eventType: "line"),
            decide: { policy.decide(.line($0), by: identity, on: rules) },
            effects: .init(
                send: { [weak self] bytes in self?.sendUpstream(bytes) },
                tell: { [weak self] text in
                    guard let self else { return }
                    // In a terminal the refusal shows where the line was; without one, on stderr.
                    writeToClient(text, stderr: setup.pty == nil)
                    link.flushClient()
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
                    link.pauseClientReads()
                    link.flushUpstream()
                },
                resumed: { [weak self] in
                    guard let self else { return }
                    if machine.inputResumed() == .sendEOFUpstream { perform(.sendEOFUpstream) } else { drainQueued() }
                }
            )
        )
    }

    private func upstreamOpened(_ channel: any Channel) {
        guard client.isActive, machine.upstreamOpened() == .startUpstream else {
            channel.close(promise: nil)
            return
        }
        link.attach(upstream: Output(channel: channel))
        perform(.startUpstream)
    }

    /// Sets the target's channel up as the client asked, then sends what the client sent meanwhile.
    private func startUpstream() {
        guard let upstream = link.upstream?.channel else { return }
        for (request, answer) in setup.replay() {
            upstream.triggerUserOutboundEvent(request, promise: nil)
            if let answer { replies.append(answer) }
        }
        drainQueued()
    }

    /// Sends what the client sent while the target was not ready or a line was held (a line
    /// in it may be held again), then its EOF if it came, then reads on.
    private func drainQueued() {
        let queued = self.queued
        self.queued = []
        for data in queued { clientData(data) }
        link.flushUpstream()
        guard !machine.inputHeld else { return }
        if self.queued.isEmpty { perform(machine.queueDrained()) }
        if isRunning, !machine.inputHeld { link.resumeClientReads() }
    }

    private func upstreamFailed(_ error: any Error) {
        let action = machine.upstreamFailed()
        guard case .refuse = action else { return }
        let message = "access gateway: \(UpstreamSSH.describe(error))"
        recorder?.record(RecordingEvent(type: "error", command: setup.kind?.label, error: message))
        perform(action, refusal: message)
    }

    // MARK: - Client data

    func read(_ data: SSHChannelData, from side: RelaySide) {
        eventLoop.preconditionInEventLoop()
        owner.touch()
        if side == .upstream { return upstreamRead(data) }
        switch machine.clientInput() {
        case .forwardInput:
            clientData(data)
        case .queueInput:
            queued.append(data)
            link.pauseClientReads()
        default:
            break
        }
    }

    private func clientData(_ data: SSHChannelData) {
        guard case .byteBuffer(let buffer) = data.data else { return }
        if machine.inputHeld {
            queued.append(data)
            return
        }
        environment.metrics.bytesRelayed(buffer.readableBytes, direction: "upstream")
        if var decoder = sftp {
            let operations = buffer.withUnsafeReadableBytes { decoder.feed($0) }
            sftp = decoder
            for operation in operations { auditFileOperation(operation) }
        }
        if setup.pty != nil {
            buffer.withUnsafeReadableBytes { recorder?.input($0) }
        }
        if let lines, data.type == .channel {
            buffer.withUnsafeReadableBytes { lines.feed($0) }
        } else {
            link.toUpstream(data)
        }
    }

    private func auditFileOperation(_ operation: SFTPRequestDecoder.Operation) {
        let text = "sftp \(operation.action) \(operation.path)" + (operation.detail.map { " (\($0))" } ?? "")
        recorder?.record(RecordingEvent(type: "sftp", command: text))
        environment.audit.enqueue(.sftp, identity: session.identity, connection: connection.name, session: owner.sessionID, command: text)
    }

    private func sendUpstream(_ bytes: [UInt8]) {
        link.toUpstream(SSHChannelData(type: .channel, data: .byteBuffer(ByteBuffer(bytes: bytes))))
    }

    // MARK: - Target events and output

    private func upstreamEvent(_ event: Any) {
        switch event {
        case is ChannelSuccessEvent, is ChannelFailureEvent:
            let success = event is ChannelSuccessEvent
            guard !replies.isEmpty, replies.removeFirst() else { return }
            perform(machine.upstreamAnsweredStart(success: success))
            if !success {
                recorder?.record(RecordingEvent(type: "error", command: setup.kind?.label, error: "the target refused the request"))
            }
        case let status as SSHChannelRequestEvent.ExitStatus:
            machine.upstreamExited(.status(status.exitStatus))
        case let signal as SSHChannelRequestEvent.ExitSignal:
            exitSignal = signal
            machine.upstreamExited(.signal(signal.signalName))
        case let event as ChannelEvent where event == .inputClosed:
            // The client hears EOF at the end, after the exit status: OpenSSH's client closes
            // the channel once both directions saw EOF and would miss a later exit status.
            output?.flush()
            link.flushClient()
        default:
            break
        }
    }

    private func upstreamRead(_ data: SSHChannelData) {
        guard case .byteBuffer(let buffer) = data.data else { return }
        environment.metrics.bytesRelayed(buffer.readableBytes, direction: "downstream")
        let isError = data.type == .stdErr
        buffer.withUnsafeReadableBytes { bytes in
            lines?.observeOutput(bytes)
            if let output { output.process(bytes, on: isError ? .stderr : .stdout) }
        }
        if output == nil { deliver(buffer, stderr: isError) }
    }

    private func deliver(_ buffer: ByteBuffer, stderr: Bool) {
        guard buffer.readableBytes > 0, !clientOutputClosed else { return }
        if sftp == nil {
            buffer.withUnsafeReadableBytes { recorder?.output($0) }
        }
        link.toClient(SSHChannelData(type: stderr ? .stdErr : .channel, data: .byteBuffer(buffer)))
    }

    private func writeToClient(_ text: String, stderr: Bool) {
        deliver(ByteBuffer(string: text), stderr: stderr)
    }

    /// Ends the client's channel after everything written: EOF, then the exit status or
    /// signal, then close. The exit is recorded (with what masking hid) when the command ran
    /// or was refused.
    private func finish(exit: Machine.Exit?, ran: Bool) {
        output?.flush()
        link.flushClient()
        let masked = output?.close(command: setup.kind?.label)
        if ran || exit != nil {
            var event = RecordingEvent(type: "exit", command: setup.kind?.label)
            switch exit {
            case .status(let status): event.exitStatus = status
            case .signal(let name): event.signal = name
            case nil: break
            }
            let elapsed = (ContinuousClock.now - started).components
            event.durationMS = Double(elapsed.seconds) * 1000 + Double(elapsed.attoseconds) / 1e15
            event.masked = masked
            recorder?.record(event)
        }
        clientOutputClosed = true
        let (client, signal) = (self.client, exitSignal)
        link.client.written().whenComplete { _ in
            switch exit {
            case .signal?: if let signal { client.triggerUserOutboundEvent(signal, promise: nil) }
            case .status(let status)?: client.triggerUserOutboundEvent(SSHChannelRequestEvent.ExitStatus(exitStatus: status), promise: nil)
            case nil: break
            }
            client.close(mode: .output, promise: nil)
            client.close(promise: nil)
        }
    }

    // MARK: - Flushing, back-pressure, closing

    func readComplete(from side: RelaySide) {
        switch side {
        case .client: link.flushUpstream()
        case .upstream: link.flushClient()
        }
    }

    func writabilityChanged(_ writable: Bool, on side: RelaySide) {
        switch side {
        case .client: link.clientWritabilityChanged(writable)
        case .upstream: link.upstreamWritabilityChanged(writable)
        }
    }

    func closed(_ side: RelaySide) {
        eventLoop.preconditionInEventLoop()
        switch side {
        case .client: perform(machine.clientClosed())
        case .upstream: perform(machine.upstreamClosed())
        }
    }

    func error(_ error: any Error, on side: RelaySide) {
        (side == .client ? client : link.upstream?.channel)?.close(promise: nil)
    }
}

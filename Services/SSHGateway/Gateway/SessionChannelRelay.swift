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
/// to the event loop both channels share. Requests before the start (pty, env) are kept and
/// replayed to the target; the command is decided before the target sees it; output is masked
/// and recorded on its way back; lines typed into a shell are checked when Enter is pressed.
///
/// `@unchecked Sendable` because it is handed to review tasks and back; every mutable field is
/// touched on `eventLoop` only.
final class SessionChannelRelay: @unchecked Sendable {
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

    enum Phase {
        case setup, deciding, opening, running, done
    }

    /// Exit status for a refused command, as a shell reports "cannot execute".
    static let refusedStatus = 126
    /// Exit status when the target could not be used, as `ssh` reports its own failures.
    static let gatewayFailureStatus = 255

    let owner: SSHClientConnection
    let session: SSHClientConnection.Authenticated
    let client: any Channel
    let eventLoop: any EventLoop
    let masking: MaskingEngine
    private var upstream: (any Channel)?
    private var phase = Phase.setup
    private var kind: Kind?
    private var pty: SSHChannelRequestEvent.PseudoTerminalRequest?
    private var size: (width: Int, height: Int)?
    private var environmentRequests: [SSHChannelRequestEvent.EnvironmentRequest] = []
    private var justification: String?
    /// The client asked for a reply to its exec/shell/subsystem request and has none yet.
    private var startReplyPending = false
    /// For each request sent to the target with want-reply: whether its answer goes to the client.
    private var replies: [Bool] = []
    /// Client data waiting for the target, or behind a held line.
    private var queued: [SSHChannelData] = []
    private var clientEOF = false
    private var upstreamEOFSent = false
    private var clientOutputClosed = false
    private var lastClientWrite: EventLoopFuture<Void>?
    private var stdout: MaskingStream?
    private var stderr: MaskingStream?
    private var hits = MaskingHits()
    private var pauseFlush: Scheduled<Void>?
    private var editor: ShellLineEditor?
    /// Without a pty the target does not echo: a line is sent only once it is allowed.
    private var unsentLine: [UInt8] = []
    /// Lines the shell keeps reading into one command (a trailing backslash, an open quote,
    /// a trailing pipe, a here-document): checked together when the command is complete.
    private var continuedLines: [String] = []
    private var heldSteps: [ShellLineEditor.Step] = []
    private var lineHeld = false
    private var alternateScreen = false
    private var sftp: SFTPRequestDecoder?
    private var exitStatus: Int?
    private var exitSignal: SSHChannelRequestEvent.ExitSignal?
    private var upstreamPending = false
    private var clientPending = false
    private let started = ContinuousClock.now

    init(owner: SSHClientConnection, session: SSHClientConnection.Authenticated, client: any Channel) {
        self.owner = owner
        self.session = session
        self.client = client
        self.eventLoop = client.eventLoop
        self.masking = MaskingEngine(policy: session.connection.masking)
        owner.register(self)
    }

    /// `limits.idle_timeout` ran out: tell the client why, then end the channel.
    func endForIdleness(_ message: String) {
        eventLoop.preconditionInEventLoop()
        guard phase != .done else { return }
        writeToClient((pty != nil ? "\r\n" : "") + message + (pty != nil ? "\r\n" : "\n"), stderr: true)
        upstream?.close(promise: nil)
        finish(status: Self.gatewayFailureStatus)
    }

    var environment: GatewayEnvironment { owner.environment }

    /// Where this channel's decisions become metrics, recording lines and audit events.
    private func checkpoint(eventType: String) -> Checkpoint {
        Checkpoint(environment: environment, identity: session.identity, connection: connection.name, sessionID: owner.sessionID, recorder: recorder, eventType: eventType)
    }
    var connection: ConnectionConfiguration { session.connection }
    var recorder: SessionRecorder? { session.tracked.recorder }
    private var hasRules: Bool { !connection.guardrails.isEmpty || !connection.approvals.isEmpty }

    // MARK: - Client requests

    func clientEvent(_ event: Any) {
        eventLoop.preconditionInEventLoop()
        switch event {
        case let request as SSHChannelRequestEvent.PseudoTerminalRequest:
            guard phase == .setup else { return reply(request.wantReply, false) }
            pty = request
            size = (request.terminalCharacterWidth, request.terminalRowHeight)
            reply(request.wantReply, true)
        case let request as SSHChannelRequestEvent.EnvironmentRequest:
            if request.name == "GATEWAY_REASON" {
                justification = request.value
                reply(request.wantReply, true)
            } else if phase == .setup && connection.allowEnvironment.contains(request.name) {
                environmentRequests.append(request)
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
            size = (request.terminalCharacterWidth, request.terminalRowHeight)
            if phase == .running, let upstream {
                upstream.triggerUserOutboundEvent(request, promise: nil)
                if request.terminalCharacterWidth > 0, request.terminalRowHeight > 0 {
                    recorder?.resize(width: request.terminalCharacterWidth, height: request.terminalRowHeight)
                }
            }
        case let request as SSHChannelRequestEvent.SignalRequest:
            if phase == .running, let upstream {
                upstream.triggerUserOutboundEvent(request, promise: nil)
                recorder?.record(RecordingEvent(type: "signal", signal: request.signal))
            }
        case let event as ChannelEvent where event == .inputClosed:
            clientEOF = true
            forwardClientEOFIfDone()
        default:
            break
        }
    }

    private func reply(_ wanted: Bool, _ success: Bool) {
        guard wanted else { return }
        client.triggerUserOutboundEvent(success ? ChannelSuccessEvent() as Any : ChannelFailureEvent() as Any, promise: nil)
    }

    private func start(_ kind: Kind, wantReply: Bool) {
        guard phase == .setup else { return reply(wantReply, false) }
        self.kind = kind
        startReplyPending = wantReply
        phase = .deciding
        if case .subsystem = kind {} else {
            // The cast starts before the decision, so a refusal the client saw is in it too.
            let command: String? = if case .exec(let text) = kind { text } else { nil }
            // A 0×0 pty (what `ssh -tt` asks for when its own input is not a terminal) is
            // recorded as 80×24: players cannot size a zero terminal.
            let width = size.map { $0.width > 0 ? $0.width : 80 } ?? 80
            let height = size.map { $0.height > 0 ? $0.height : 24 } ?? 24
            owner.beginTerminal(TerminalInfo(width: width, height: height, command: command, term: pty?.term))
        }
        switch kind {
        case .exec(let command):
            decideExec(command)
            return
        case .shell:
            break
        case .subsystem(let name):
            guard name == "sftp", connection.allowSFTP else {
                let message = name == "sftp"
                    ? "access gateway: sftp is not allowed on connection \"\(connection.name)\""
                    : "access gateway: subsystem \"\(name)\" is not supported"
                recorder?.record(RecordingEvent(type: "subsystem", command: name, decision: "block", detail: message))
                environment.metrics.decision("block", connection: connection.name)
                environment.audit.enqueue(.block, identity: session.identity, connection: session.connection.name, session: owner.sessionID, command: "subsystem \(name)", rule: "sftp", detail: message)
                writeToClient(message + "\n", stderr: true)
                flushClient()
                phase = .done
                startReplyPending = false
                reply(wantReply, false)
                return
            }
            sftp = SFTPRequestDecoder()
        }
        environment.metrics.decision("allow", connection: connection.name)
        recorder?.record(RecordingEvent(type: kind == .shell ? "shell" : "subsystem", command: kind.label, decision: "allow"))
        environment.audit.enqueue(.allow, identity: session.identity, connection: connection.name, session: owner.sessionID, command: kind.label)
        openUpstream()
    }

    // MARK: - Exec decisions

    private func decideExec(_ command: String) {
        let decision = environment.policy.decide(.shell(command), by: session.identity, on: connection.policy)
        switch checkpoint(eventType: "exec").pass(decision, command: command) {
        case .forward:
            openUpstream()
        case .refuse(_, let reason, denied: true):
            refuseExec(message: "access gateway: \(reason)")
        case .refuse(_, let message, denied: false):
            refuseExec(message: "access gateway: \(message); the command was not run")
        case .hold(let rule):
            // Tell the client the channel is open, so it shows the notice while it waits.
            reply(startReplyPending, true)
            startReplyPending = false
            hold(command, rule: rule) { [self] proceed in
                if proceed { openUpstream() } else { finish(status: Self.refusedStatus) }
            }
        }
    }

    /// A refused exec (recorded and audited by the checkpoint): the reason on stderr, exit 126.
    private func refuseExec(message: String) {
        reply(startReplyPending, true)
        startReplyPending = false
        writeToClient(message + "\n", stderr: true)
        finish(status: Self.refusedStatus)
    }

    /// Holds a command or line for review; `then` runs on the event loop with the verdict. A
    /// refusal has already been shown to the client.
    private func hold(_ command: String, rule: ApprovalRule, then: @escaping (Bool) -> Void) {
        let gate = ApprovalGate(
            environment: environment, identity: session.identity, connection: connection.name, sessionID: owner.sessionID,
            clientAddress: owner.clientAddress, eventType: kind == .shell ? "line" : "exec", noun: "command"
        )
        let newline = pty != nil ? "\r\n" : "\n"
        let toStderr = kind != .shell || pty == nil
        let client = self.client
        let eventLoop = self.eventLoop
        let justification = self.justification
        let recorder = self.recorder
        let then = NIOLoopBound(then, eventLoop: eventLoop)
        owner.reviewStarted()
        let owner = self.owner
        Task {
            let outcome = await gate.hold(
                command, rule: rule, justification: justification, recorder: recorder,
                tell: { review in
                    let text = "\(newline)\(gate.pendingMessage(review, rule: rule))\(newline)approve with: gatewayctl reviews approve \(review.id)\(newline)"
                    eventLoop.execute { self.writeToClient(text, stderr: toStderr); self.flushClient() }
                },
                isClientConnected: { client.isActive }
            )
            eventLoop.execute {
                owner.reviewEnded()
                switch outcome {
                case .proceed:
                    then.value(true)
                case .refused(let message):
                    self.writeToClient("\(newline)\(message)\(newline)", stderr: toStderr)
                    self.flushClient()
                    then.value(false)
                }
            }
        }
    }

    // MARK: - Opening the target's channel

    private func openUpstream() {
        guard phase == .deciding, let kind else { return }
        phase = .opening
        // SFTP is a binary protocol with length-prefixed fields: masking would corrupt it.
        // File transfers are audited by path instead (see SFTPRequestDecoder).
        if masking.scansValues && sftp == nil {
            stdout = masking.makeStream()
            stderr = masking.makeStream()
        }
        if kind == .shell && hasRules {
            editor = ShellLineEditor()
        }
        let relay = self
        owner.upstreamChannel()
            .flatMap { parent in
                UpstreamSSH.openChannel(on: parent, type: .session) { child in
                    try child.pipeline.syncOperations.addHandler(SessionChannelHandler(relay: relay, side: .upstream))
                }
            }
            .whenComplete { result in
                switch result {
                case .success(let channel): relay.upstreamOpened(channel)
                case .failure(let error): relay.upstreamFailed(error)
                }
            }
    }

    private func upstreamOpened(_ channel: any Channel) {
        guard phase == .opening, client.isActive, let kind else {
            channel.close(promise: nil)
            return
        }
        upstream = channel
        if let pty {
            var request = pty
            request.wantReply = true
            if let size {
                request = .init(wantReply: true, term: pty.term, terminalCharacterWidth: size.width, terminalRowHeight: size.height,
                                terminalPixelWidth: pty.terminalPixelWidth, terminalPixelHeight: pty.terminalPixelHeight, terminalModes: pty.terminalModes)
            }
            channel.triggerUserOutboundEvent(request, promise: nil)
            replies.append(false)
        }
        for request in environmentRequests {
            channel.triggerUserOutboundEvent(SSHChannelRequestEvent.EnvironmentRequest(wantReply: false, name: request.name, value: request.value), promise: nil)
        }
        switch kind {
        case .exec(let command): channel.triggerUserOutboundEvent(SSHChannelRequestEvent.ExecRequest(command: command, wantReply: true), promise: nil)
        case .shell: channel.triggerUserOutboundEvent(SSHChannelRequestEvent.ShellRequest(wantReply: true), promise: nil)
        case .subsystem(let name): channel.triggerUserOutboundEvent(SSHChannelRequestEvent.SubsystemRequest(subsystem: name, wantReply: true), promise: nil)
        }
        replies.append(true)
        phase = .running
        drainQueued()
    }

    /// Sends what the client sent while the target was not ready or a line was held (a line
    /// in it may be held again), then its EOF if it came, then reads on.
    private func drainQueued() {
        let queued = self.queued
        self.queued = []
        for data in queued { clientData(data) }
        flushUpstream()
        forwardClientEOFIfDone()
        resumeClientReads()
    }

    private func upstreamFailed(_ error: any Error) {
        guard phase == .opening else { return }
        let message = "access gateway: \(UpstreamSSH.describe(error))"
        recorder?.record(RecordingEvent(type: "error", command: kind?.label, error: message))
        reply(startReplyPending, true)
        startReplyPending = false
        writeToClient(message + "\n", stderr: true)
        finish(status: Self.gatewayFailureStatus)
    }

    // MARK: - Client data

    func clientRead(_ data: SSHChannelData) {
        eventLoop.preconditionInEventLoop()
        owner.touch()
        guard phase != .done else { return }
        if phase != .running || lineHeld {
            queued.append(data)
            client.setOption(ChannelOptions.autoRead, value: false).whenComplete { _ in }
            return
        }
        clientData(data)
    }

    private func clientData(_ data: SSHChannelData) {
        guard case .byteBuffer(let buffer) = data.data, let upstream else { return }
        environment.metrics.bytesRelayed(buffer.readableBytes, direction: "upstream")
        if lineHeld {
            queued.append(data)
            return
        }
        if var decoder = sftp {
            let operations = buffer.withUnsafeReadableBytes { decoder.feed($0) }
            sftp = decoder
            for operation in operations { auditFileOperation(operation) }
        }
        if pty != nil {
            buffer.withUnsafeReadableBytes { recorder?.input($0) }
        }
        if var editor, data.type == .channel, !alternateScreen {
            let steps = buffer.withUnsafeReadableBytes { editor.feed($0) }
            self.editor = editor
            runSteps(steps[...])
        } else {
            upstream.write(data, promise: nil)
            upstreamPending = true
        }
    }

    private func auditFileOperation(_ operation: SFTPRequestDecoder.Operation) {
        let text = "sftp \(operation.action) \(operation.path)" + (operation.detail.map { " (\($0))" } ?? "")
        recorder?.record(RecordingEvent(type: "sftp", command: text))
        environment.audit.enqueue(.sftp, identity: session.identity, connection: connection.name, session: owner.sessionID, command: text)
    }

    /// Applies the line editor's steps until one is held for review.
    private func runSteps(_ steps: ArraySlice<ShellLineEditor.Step>) {
        var remaining = steps
        while let step = remaining.popFirst() {
            switch step {
            case .forward(let bytes):
                if pty != nil { sendUpstream(bytes) } else { unsentLine.append(contentsOf: bytes) }
            case .enter(let line, let certain, let terminator):
                if !checkLine(line, certain: certain, terminator: terminator) {
                    heldSteps = Array(remaining)
                    return
                }
            }
        }
    }

    /// Decides on a line at Enter. Returns false when the line is held (the rest waits).
    private func checkLine(_ line: String, certain: Bool, terminator: UInt8?) -> Bool {
        var text = line.trimmingCharacters(in: .whitespaces)
        if text.isEmpty, continuedLines.isEmpty {
            submitLine(terminator)
            return true
        }
        if hasRules {
            // The shell runs nothing before the command is complete: the line goes on, and
            // the whole command is checked at its last line.
            let whole = (continuedLines + [line]).joined(separator: "\n")
            if certain, InteractiveLine.isIncomplete(whole), continuedLines.count < 64 {
                continuedLines.append(line)
                submitLine(terminator)
                return true
            }
            if !continuedLines.isEmpty { text = whole }
        }
        var decision = environment.policy.decide(.line(text), by: session.identity, on: connection.policy)
        if case .allow = decision, !certain {
            decision = .block(
                rule: "line-editing",
                message: "the gateway cannot see the whole line (Tab completion, history recall, a paste with control keys or a Meta key changed it); type the command out in full",
                statement: text
            )
        }
        if case .allow = decision, hasRules, InteractiveLine.expandsHistory(text) {
            decision = .block(
                rule: "history-expansion",
                message: "history expansion (!!, !$, !word, ^old^new) would change the line after the gateway checked it; type the command out, or quote the !",
                statement: text
            )
        }
        switch checkpoint(eventType: "line").pass(decision, command: text) {
        case .forward:
            continuedLines = []
            submitLine(terminator)
            return true
        case .refuse(_, let reason, denied: true):
            discardLine(message: "access gateway: \(reason)")
            return true
        case .refuse(_, let message, denied: false):
            discardLine(message: "access gateway: \(message); the line was not run")
            return true
        case .hold(let rule):
            lineHeld = true
            client.setOption(ChannelOptions.autoRead, value: false).whenComplete { _ in }
            flushUpstream()
            hold(text, rule: rule) { [self] proceed in
                guard phase == .running else { return }
                lineHeld = false
                if proceed {
                    continuedLines = []
                    submitLine(terminator)
                } else {
                    discardLine(message: nil)
                }
                let steps = heldSteps
                heldSteps = []
                runSteps(steps[...])
                guard !lineHeld else { return }
                drainQueued()
            }
            return false
        }
    }

    private func submitLine(_ terminator: UInt8?) {
        var bytes = unsentLine
        unsentLine = []
        if let terminator { bytes.append(terminator) }
        sendUpstream(bytes)
    }

    /// Drops a refused line (recorded and audited by the checkpoint, or by the review that
    /// refused it): with a pty the target already echoed it, so the line is erased on the
    /// target and an empty line gives a fresh prompt.
    private func discardLine(message: String?) {
        let continued = !continuedLines.isEmpty
        continuedLines = []
        if pty != nil {
            if let message { writeToClient("\r\n\(message)\r\n", stderr: false) }
            // Lines of the command already went to the shell: ^C discards all of it (^U and
            // Enter would run them); a single line is erased and an empty one submitted.
            sendUpstream(continued ? [0x03] : [0x05, 0x15, 0x0d])
        } else {
            unsentLine = []
            if let message { writeToClient("\(message)\n", stderr: true) }
        }
        flushClient()
    }

    private func sendUpstream(_ bytes: [UInt8]) {
        guard !bytes.isEmpty, let upstream else { return }
        upstream.write(SSHChannelData(type: .channel, data: .byteBuffer(ByteBuffer(bytes: bytes))), promise: nil)
        upstreamPending = true
    }

    /// The client's EOF goes on once nothing of its input is waiting.
    private func forwardClientEOFIfDone() {
        guard clientEOF, phase == .running, !lineHeld, queued.isEmpty, !upstreamEOFSent, let upstream else { return }
        if editor != nil, !unsentLine.isEmpty {
            // A last line without a newline (a script piped into a shell without a pty).
            let line = String(decoding: unsentLine, as: UTF8.self)
            guard checkLine(line, certain: true, terminator: nil) else { return }
        }
        upstreamEOFSent = true
        flushUpstream()
        upstream.close(mode: .output, promise: nil)
    }

    // MARK: - Target events and output

    func upstreamEvent(_ event: Any) {
        eventLoop.preconditionInEventLoop()
        switch event {
        case is ChannelSuccessEvent, is ChannelFailureEvent:
            let success = event is ChannelSuccessEvent
            guard !replies.isEmpty else { return }
            let forward = replies.removeFirst()
            if forward && startReplyPending {
                startReplyPending = false
                reply(true, success)
            }
            if forward && !success {
                recorder?.record(RecordingEvent(type: "error", command: kind?.label, error: "the target refused the request"))
            }
        case let status as SSHChannelRequestEvent.ExitStatus:
            exitStatus = status.exitStatus
        case let signal as SSHChannelRequestEvent.ExitSignal:
            exitSignal = signal
        case let event as ChannelEvent where event == .inputClosed:
            // The client hears EOF at the end, after the exit status: OpenSSH's client closes
            // the channel once both directions saw EOF and would miss a later exit status.
            flushMasking()
            flushClient()
        default:
            break
        }
    }

    func upstreamRead(_ data: SSHChannelData) {
        eventLoop.preconditionInEventLoop()
        owner.touch()
        guard case .byteBuffer(let buffer) = data.data else { return }
        environment.metrics.bytesRelayed(buffer.readableBytes, direction: "downstream")
        if editor != nil { trackAlternateScreen(buffer) }
        let isError = data.type == .stdErr
        let out: ByteBuffer
        if isError, var stream = stderr {
            out = ByteBuffer(bytes: buffer.withUnsafeReadableBytes { stream.process($0) })
            stderr = stream
        } else if !isError, var stream = stdout {
            out = ByteBuffer(bytes: buffer.withUnsafeReadableBytes { stream.process($0) })
            stdout = stream
        } else {
            out = buffer
        }
        deliver(out, stderr: isError)
        schedulePauseFlush()
    }

    /// In a terminal, text the masker holds back (it could still grow into a value) is sent
    /// once output pauses, so echoes and prompts do not lag; the start of a value is masked
    /// then rather than sent (`MaskingStream.flushAfterPause`).
    private func schedulePauseFlush() {
        pauseFlush?.cancel()
        pauseFlush = nil
        guard pty != nil, (stdout?.heldCount ?? 0) + (stderr?.heldCount ?? 0) > 0 else { return }
        pauseFlush = eventLoop.scheduleTask(in: Self.pause) { [weak self] in
            guard let self else { return }
            self.pauseFlush = nil
            if var stream = self.stdout {
                self.deliver(ByteBuffer(bytes: stream.flushAfterPause()), stderr: false)
                self.stdout = stream
            }
            if var stream = self.stderr {
                self.deliver(ByteBuffer(bytes: stream.flushAfterPause()), stderr: true)
                self.stderr = stream
            }
            self.flushClient()
        }
    }

    static let pause = TimeAmount.milliseconds(40)

    private func deliver(_ buffer: ByteBuffer, stderr: Bool) {
        guard buffer.readableBytes > 0, !clientOutputClosed else { return }
        if sftp == nil {
            buffer.withUnsafeReadableBytes { recorder?.output($0) }
        }
        writeClient(SSHChannelData(type: stderr ? .stdErr : .channel, data: .byteBuffer(buffer)))
    }

    /// Full-screen programs (editors, pagers) switch to the alternate screen; keys there are
    /// not command lines, so line checks pause until they switch back.
    private func trackAlternateScreen(_ buffer: ByteBuffer) {
        buffer.withUnsafeReadableBytes { bytes in
            guard bytes.contains(0x1b) else { return }
            let text = String(decoding: bytes, as: UTF8.self)
            for marker in ["\u{1b}[?1049", "\u{1b}[?1047", "\u{1b}[?47"] {
                if let range = text.range(of: marker, options: .backwards), let mode = text[range.upperBound...].first {
                    if mode == "h" { alternateScreen = true } else if mode == "l" { alternateScreen = false; editor?.reset() }
                }
            }
        }
    }

    private func flushMasking() {
        pauseFlush?.cancel()
        pauseFlush = nil
        if var stream = stdout {
            deliver(ByteBuffer(bytes: stream.flush()), stderr: false)
            hits.merge(stream.takeHits())
            stdout = stream
        }
        if var stream = stderr {
            deliver(ByteBuffer(bytes: stream.flush()), stderr: true)
            hits.merge(stream.takeHits())
            stderr = stream
        }
    }

    private func writeToClient(_ text: String, stderr: Bool) {
        guard !clientOutputClosed else { return }
        if sftp == nil { recorder?.output(Array(text.utf8)) }
        writeClient(SSHChannelData(type: stderr ? .stdErr : .channel, data: .byteBuffer(ByteBuffer(string: text))))
    }

    /// Writes to the client and remembers the write: the exit status (sent at once by NIOSSH,
    /// not queued behind data waiting for window space) goes out only after it.
    private func writeClient(_ data: SSHChannelData) {
        let promise = eventLoop.makePromise(of: Void.self)
        client.write(data, promise: promise)
        lastClientWrite = promise.futureResult
        clientPending = true
    }

    /// Ends the client's channel after everything written: EOF, then the exit status or
    /// signal, then close.
    private func finish(status: Int?) {
        let wasRunning = phase == .running || phase == .opening
        phase = .done
        flushMasking()
        flushClient()
        if let status, exitStatus == nil { exitStatus = status }
        let exitStatus = self.exitStatus
        let exitSignal = self.exitSignal
        if wasRunning || exitStatus != nil {
            var event = RecordingEvent(type: "exit", command: kind?.label, exitStatus: exitSignal == nil ? exitStatus : nil, signal: exitSignal?.signalName)
            let elapsed = (ContinuousClock.now - started).components
            event.durationMS = Double(elapsed.seconds) * 1000 + Double(elapsed.attoseconds) / 1e15
            if !hits.isEmpty { event.masked = hits.counts }
            recorder?.record(event)
        }
        if !hits.isEmpty {
            environment.metrics.maskingHits(hits.counts, connection: connection.name)
            // Masking is a decision: one audit event per command or shell, with what it hid.
            environment.audit.enqueue(.mask, identity: session.identity, connection: connection.name, session: owner.sessionID, command: kind?.label, detail: hits.summary)
        }
        let client = self.client
        clientOutputClosed = true
        (lastClientWrite ?? eventLoop.makeSucceededVoidFuture()).whenComplete { _ in
            if let exitSignal {
                client.triggerUserOutboundEvent(exitSignal, promise: nil)
            } else if let exitStatus {
                client.triggerUserOutboundEvent(SSHChannelRequestEvent.ExitStatus(exitStatus: exitStatus), promise: nil)
            }
            client.close(mode: .output, promise: nil)
            client.close(promise: nil)
        }
    }

    // MARK: - Flushing, back-pressure, closing

    func flushUpstream() {
        if upstreamPending, let upstream {
            upstreamPending = false
            upstream.flush()
        }
    }

    func flushClient() {
        if clientPending {
            clientPending = false
            client.flush()
        }
    }

    private func resumeClientReads() {
        guard phase == .running, !lineHeld, upstream?.isWritable ?? false else { return }
        client.setOption(ChannelOptions.autoRead, value: true).whenComplete { _ in }
        client.read()
    }

    func clientWritabilityChanged(_ writable: Bool) {
        guard let upstream else { return }
        upstream.setOption(ChannelOptions.autoRead, value: writable).whenComplete { _ in }
        if writable { upstream.read() }
    }

    func upstreamWritabilityChanged(_ writable: Bool) {
        if writable {
            resumeClientReads()
        } else {
            client.setOption(ChannelOptions.autoRead, value: false).whenComplete { _ in }
        }
    }

    func clientClosed() {
        eventLoop.preconditionInEventLoop()
        owner.unregister(self)
        phase = .done
        upstream?.close(promise: nil)
    }

    func upstreamClosed() {
        eventLoop.preconditionInEventLoop()
        guard phase != .done else { return }
        finish(status: nil)
    }
}

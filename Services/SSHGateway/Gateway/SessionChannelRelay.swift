import GatewayConfig
import GatewayPolicy
import GatewaySession
import GatewayRecording
import GatewayRuntime
import NIOCore
import NIOSSH
import SSHGatewayCore

/// One `session` channel (exec, shell or subsystem) between a client and the target, on the
/// event loop both channels share. The session core's `CommandChannelDriver` runs the channel
/// (decision, review, input order, masking, recording, exit); this type speaks SSH for it: it
/// keeps the requests before the start (pty, env) and replays them to the target's channel,
/// relays window changes and signals, passes the target's answer to the start on, audits SFTP
/// file operations, and sends the exit status before EOF.
///
/// `@unchecked Sendable` because it is handed to the channel-opening futures; every mutable
/// field is touched on `eventLoop` only.
final class SessionChannelRelay: LinkedRelay, CommandChannelTransport, @unchecked Sendable {
    typealias Inbound = SSHChannelData
    typealias Output = ChannelOutput<SSHChannelData>

    let owner: SSHClientConnection
    let session: SSHClientConnection.Authenticated
    let eventLoop: any EventLoop
    let link: RelayLink<Output, Output>
    private var driver: CommandChannelDriver!
    private var setup = ChannelSetup()
    /// For each request sent to the target with want-reply: whether its answer goes to the client.
    private var replies: [Bool] = []
    private var sftp: SFTPRequestDecoder?
    private var exitSignal: SSHChannelRequestEvent.ExitSignal?

    init(owner: SSHClientConnection, session: SSHClientConnection.Authenticated, client: any Channel) {
        self.owner = owner
        self.session = session
        self.eventLoop = client.eventLoop
        // The client's writes are tracked: the exit status goes out only after them.
        self.link = RelayLink(client: Output(channel: client, tracksWrites: true), upstream: nil)
        let context = CommandChannelDriver.Session(
            environment: owner.environment, identity: session.identity, connection: session.connection, sessionID: owner.sessionID,
            clientAddress: owner.clientAddress, recorder: session.tracked.recorder
        )
        self.driver = CommandChannelDriver(session: context, eventLoop: eventLoop, transport: self) { [weak owner] started in
            if started { owner?.reviewStarted() } else { owner?.reviewEnded() }
        }
        owner.register(self)
    }

    var client: any Channel { link.client.channel }
    var connection: ConnectionConfiguration { session.connection }
    var recorder: SessionRecorder? { session.tracked.recorder }

    /// The gateway ends the channel (idle timeout, kill, shutdown, token expiry).
    func endByGateway(_ message: String) {
        eventLoop.preconditionInEventLoop()
        driver.endByGateway(message)
    }

    // MARK: - Client requests

    func event(_ event: Any, from side: RelaySide) {
        eventLoop.preconditionInEventLoop()
        if side == .upstream { return upstreamEvent(event) }
        switch event {
        case let request as SSHChannelRequestEvent.PseudoTerminalRequest:
            guard driver.settingRequested() else { return reply(request.wantReply, false) }
            setup.pty = request
            setup.size = (request.terminalCharacterWidth, request.terminalRowHeight)
            reply(request.wantReply, true)
        case let request as SSHChannelRequestEvent.EnvironmentRequest:
            if request.name == "GATEWAY_REASON" {
                setup.justification = request.value
                reply(request.wantReply, true)
            } else if driver.settingRequested() && connection.allowEnvironment.contains(request.name) {
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
            guard driver.isRunning, let upstream = link.upstream?.channel else { return }
            upstream.triggerUserOutboundEvent(request, promise: nil)
            if request.terminalCharacterWidth > 0, request.terminalRowHeight > 0 {
                recorder?.resize(width: request.terminalCharacterWidth, height: request.terminalRowHeight)
            }
        case let request as SSHChannelRequestEvent.SignalRequest:
            guard driver.isRunning, let upstream = link.upstream?.channel else { return }
            upstream.triggerUserOutboundEvent(request, promise: nil)
            recorder?.record(RecordingEvent(type: .signal, signal: request.signal))
        case let event as ChannelEvent where event == .inputClosed:
            driver.clientEOF()
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

    /// An exec, shell or subsystem request: decided by the driver (an exec as its command
    /// line; a shell is allowed and its lines are checked; sftp where the connection allows it).
    private func start(_ kind: ChannelSetup.Kind, wantReply: Bool) {
        var command = CommandChannelDriver.Command(
            label: kind.label, eventType: .exec, interactive: setup.pty != nil, justification: setup.justification
        )
        let decision: () -> Decision
        let (environment, identity) = (owner.environment, session.identity)
        switch kind {
        case .exec(let line):
            decision = { environment.policy.decide(.shell(line), by: identity, on: self.connection.policy) }
        case .shell:
            command.eventType = .shell
            command.checksLines = !connection.guardrails.isEmpty || !connection.approvals.isEmpty
            decision = { .allow }
        case .subsystem(let name):
            command.eventType = .subsystem
            // SFTP is a binary protocol with length-prefixed fields: masking would corrupt it.
            // File transfers are audited by path instead (see SFTPRequestDecoder).
            command.binary = true
            command.refusalFailsStart = true
            let allowed = name == "sftp" && connection.allowSFTP
            let message = name == "sftp" ? "sftp is not allowed on connection \"\(connection.name)\"" : "subsystem \"\(name)\" is not supported"
            decision = { [self] in
                if allowed { sftp = SFTPRequestDecoder() }
                return allowed ? .allow : .block(rule: "sftp", message: message, statement: kind.label)
            }
        }
        let accepted = driver.start(command, wantReply: wantReply) {
            setup.kind = kind
            // The cast starts before the decision, so a refusal the client saw is in it too.
            if case .subsystem = kind {} else { owner.beginTerminal(setup.terminal) }
            return decision()
        }
        if !accepted { reply(wantReply, false) }
    }

    func replyToStart(_ success: Bool) {
        reply(true, success)
    }

    // MARK: - The target's channel

    func openUpstream() {
        let relay = self
        owner.upstreamChannel()
            .flatMap { parent in
                UpstreamSSH.openChannel(on: parent, type: .session) { child in
                    try child.pipeline.syncOperations.addHandler(RelaySideHandler(endpoint: relay, side: .upstream))
                }
            }
            .whenComplete { result in
                switch result {
                case .success(let channel):
                    guard relay.client.isActive else { return channel.close(promise: nil) }
                    relay.link.attach(upstream: Output(channel: channel))
                    if !relay.driver.upstreamOpened() { channel.close(promise: nil) }
                case .failure(let error):
                    relay.driver.upstreamFailed("access gateway: \(UpstreamSSH.describe(error))")
                }
            }
    }

    func startUpstream() {
        guard let upstream = link.upstream?.channel else { return }
        for (request, answer) in setup.replay() {
            upstream.triggerUserOutboundEvent(request, promise: nil)
            if let answer { replies.append(answer) }
        }
    }

    private func upstreamEvent(_ event: Any) {
        switch event {
        case is ChannelSuccessEvent, is ChannelFailureEvent:
            guard !replies.isEmpty, replies.removeFirst() else { return }
            driver.upstreamAnsweredStart(success: event is ChannelSuccessEvent)
        case let status as SSHChannelRequestEvent.ExitStatus:
            driver.upstreamExited(.status(status.exitStatus))
        case let signal as SSHChannelRequestEvent.ExitSignal:
            exitSignal = signal
            driver.upstreamExited(.signal(signal.signalName))
        case let event as ChannelEvent where event == .inputClosed:
            // The client hears EOF at the end, after the exit status: OpenSSH's client closes
            // the channel once both directions saw EOF and would miss a later exit status.
            driver.upstreamOutputEnded()
        default:
            break
        }
    }

    // MARK: - Data

    func read(_ data: SSHChannelData, from side: RelaySide) {
        eventLoop.preconditionInEventLoop()
        owner.touch()
        guard case .byteBuffer(let buffer) = data.data else { return }
        switch side {
        case .client where data.type == .channel:
            driver.clientInput(buffer)
        case .client:
            // Extended data from a client (no standard use): passed on as it came.
            link.toUpstream(data)
        case .upstream:
            driver.upstreamOutput(buffer, stream: data.type == .stdErr ? .stderr : .stdout)
        }
    }

    func inputArrived(_ input: ByteBuffer) {
        if var decoder = sftp {
            let operations = input.withUnsafeReadableBytes { decoder.feed($0) }
            sftp = decoder
            for operation in operations { auditFileOperation(operation) }
        }
        if setup.pty != nil {
            input.withUnsafeReadableBytes { recorder?.input($0) }
        }
    }

    private func auditFileOperation(_ operation: SFTPRequestDecoder.Operation) {
        let text = "sftp \(operation.action) \(operation.path)" + (operation.detail.map { " (\($0))" } ?? "")
        recorder?.record(RecordingEvent(type: .sftp, command: text))
        owner.environment.audit.enqueue(.sftp, identity: session.identity, connection: connection.name, session: owner.sessionID, command: text)
    }

    func sendUpstream(_ input: ByteBuffer) {
        link.toUpstream(SSHChannelData(type: .channel, data: .byteBuffer(input)))
    }

    func sendToClient(_ output: ByteBuffer, stream: OutputMasking.Stream) {
        link.toClient(SSHChannelData(type: stream == .stderr ? .stdErr : .channel, data: .byteBuffer(output)))
    }

    func flushClient() { link.flushClient() }
    func flushUpstream() { link.flushUpstream() }
    func pauseClientReads() { link.pauseClientReads() }
    func resumeClientReads() { link.resumeClientReads() }
    func closeUpstreamOutput() { link.closeUpstreamOutput() }
    func closeUpstream() { link.closeUpstream() }

    var clientConnected: @Sendable () -> Bool {
        { [client] in client.isActive }
    }

    /// After everything written: the exit status or signal, then EOF and close.
    func sendExit(_ exit: CommandChannelStateMachine.Exit?) {
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

    // MARK: - Channel events

    func closed(_ side: RelaySide) {
        eventLoop.preconditionInEventLoop()
        switch side {
        case .client:
            owner.unregister(self)
            driver.clientClosed()
        case .upstream:
            driver.upstreamClosed()
        }
    }

    func error(_ error: any Error, on side: RelaySide) {
        (side == .client ? client : link.upstream?.channel)?.close(promise: nil)
    }
}

import Foundation
import GatewayConfig
import GatewayPolicy
import GatewayRecording
import GatewayRuntime
import GatewayState
import GatewaySession
import KubeExecGatewayCore
import Logging
import NIOCore
import NIOWebSocket
import Synchronization

/// One exec or attach stream between kubectl and the API server, on the client's event loop.
/// The session core's `CommandChannelDriver` runs it (checkpoint, review, input order, masking,
/// recording, exit); this type speaks the Kubernetes stream protocol for it, in
/// `KubeStreamEvent`s whatever each side's transport (a codec per side: WebSocket or SPDY, so a
/// kubectl 1.29 on SPDY can reach an API server on WebSocket v5 and the other way round):
/// channel 0 is stdin, 1 and 2 stdout and stderr, 3 the exit `Status`, 4 resizes; the exit the
/// client sees is the gateway's `Status` on channel 3, sent after all output.
///
/// `@unchecked Sendable`: handed to futures and tasks, used on `eventLoop` only.
final class KubeExecRelay: LinkedRelay, CommandChannelTransport, @unchecked Sendable {
    typealias Inbound = KubeStreamEvent
    typealias Output = ChannelOutput<KubeStreamEvent>

    /// How long a SPDY client has to open the streams its exec needs (as the kubelet's
    /// stream creation timeout).
    static let streamCreationTimeout = TimeAmount.seconds(30)

    let admitted: KubeExecUpgrade.Admitted
    let tracked: TrackedSession
    let eventLoop: any EventLoop
    let link: RelayLink<Output, Output>
    let ended: EventLoopPromise<Void>
    private var driver: CommandChannelDriver!
    /// Resizes before the target's stream opened, sent when it does.
    private var pendingResizes: [KubeStreamFrame] = []
    /// What the target said on its error channel when it was not an exit status (a missing
    /// container, a failed start): passed on as it is.
    private var upstreamError: [UInt8]?
    /// The target's stream, connected and waiting for its streams to be answered (SPDY).
    private var connectingUpstream: (any Channel)?
    /// The target's protocol reports the exit as a `Status` (v4 and later).
    private var upstreamReportsStatus = true
    private var begun = false

    /// The client's protocol (over WebSocket or SPDY).
    var kind: KubeStreamProtocol { admitted.protocolKind }

    /// Takes the client's upgraded channel; the session (`admitted.tracked`) started before
    /// the upgrade.
    static func start(
        _ admitted: KubeExecUpgrade.Admitted, environment: GatewayEnvironment, clientAddress: String, client: any Channel, logger: Logger
    ) async throws -> KubeExecRelay {
        let tracked = admitted.tracked
        do {
            return try await client.eventLoop.submit {
                let relay = KubeExecRelay(admitted: admitted, tracked: tracked, environment: environment, clientAddress: clientAddress, client: client, sessionID: tracked.id)
                admitted.terminator.set { [weak relay] reason in relay?.terminate(reason) }
                do {
                    if admitted.overSPDY {
                        let session = try SPDYStreamSession(role: .server, expected: SPDYStreamSession.channels(of: admitted.options))
                        try client.pipeline.syncOperations.addHandler(KubeSPDYStreamCodec(session: session))
                    } else {
                        try client.pipeline.syncOperations.addHandler(KubeExecUpgrade.aggregator())
                        try client.pipeline.syncOperations.addHandler(KubeWebSocketStreamCodec(kind: admitted.protocolKind, isClient: false))
                    }
                    try client.pipeline.syncOperations.addHandler(RelaySideHandler(endpoint: relay, side: .client))
                } catch {
                    relay.ended.succeed()
                    throw error
                }
                // A client that left while the session started hears nothing more; the relay ends.
                guard client.isActive else {
                    relay.closed(.client)
                    return relay
                }
                if admitted.overSPDY {
                    // The session starts once the client's streams are open (the stderr a hold
                    // speaks on is one of them); a client that never opens them is let go.
                    client.eventLoop.scheduleTask(in: streamCreationTimeout) { [weak relay] in
                        guard let relay, !relay.begun else { return }
                        relay.tracked.recorder?.record(RecordingEvent(type: .error, error: "access gateway: the client did not open the streams of its exec"))
                        client.close(promise: nil)
                    }
                } else {
                    relay.begin()
                }
                return relay
            }.get()
        } catch {
            // The channel went away under the upgrade: the session ends, sealed, with nothing run.
            await tracked.end()
            throw error
        }
    }

    private init(
        admitted: KubeExecUpgrade.Admitted, tracked: TrackedSession, environment: GatewayEnvironment, clientAddress: String, client: any Channel, sessionID: String
    ) {
        self.admitted = admitted
        self.tracked = tracked
        self.eventLoop = client.eventLoop
        self.ended = client.eventLoop.makePromise()
        self.link = RelayLink(client: Output(channel: client, tracksWrites: true), upstream: nil)
        let session = CommandChannelDriver.Session(
            environment: environment, identity: admitted.session.identity, connection: admitted.session.connection, sessionID: sessionID,
            clientAddress: clientAddress, recorder: tracked.recorder
        )
        driver = CommandChannelDriver(session: session, eventLoop: client.eventLoop, transport: self)
    }

    /// Decides the command (already checked before the upgrade: here it is recorded, audited,
    /// and held if it needs review) and starts the target's stream.
    private func begin() {
        guard !begun else { return }
        begun = true
        let options = admitted.options
        let connection = admitted.session.connection
        // A shell fed by the client (`kubectl exec -it ... -- sh`) is an interactive shell: its
        // lines are checked one by one as SSH shells' are, so the shell itself is allowed.
        let interactiveShell = options.isInteractiveShell && (!connection.guardrails.isEmpty || !connection.approvals.isEmpty)
        let label = options.attach ? "attach \(admitted.request.name ?? "")" : options.command.joined(separator: " ")
        let command = CommandChannelDriver.Command(
            label: label, eventType: interactiveShell ? .shell : .exec, interactive: options.tty,
            checksLines: interactiveShell, justification: admitted.justification
        )
        let (policy, identity) = (driver.session.environment.policy, admitted.session.identity)
        _ = driver.start(command, wantReply: false) {
            interactiveShell ? policy.authorize(identity, for: connection.policy) : policy.decide(.exec(options.command), by: identity, on: connection.policy)
        }
    }

    /// Completes when the stream ended and its recording is sealed.
    func finished() async {
        try? await ended.futureResult.get()
        await tracked.end()
    }

    // MARK: - Transport

    func replyToStart(_ success: Bool) {}

    func openUpstream() {
        let relay = self
        KubeUpstreamExec.open(admitted.upstream, target: admitted.target, stream: .exec(admitted.options), identity: admitted.session.identity, on: eventLoop, timeout: driver.session.environment.endpoint.upstreamTimeout) { channel, kind in
            relay.connectingUpstream = channel
            relay.upstreamReportsStatus = kind?.reportsStatus ?? true
            try channel.pipeline.syncOperations.addHandler(RelaySideHandler(endpoint: relay, side: .upstream))
        }.whenFailure { error in
            relay.driver.upstreamFailed("access gateway: \(error)")
        }
    }

    /// The target's streams are open: input and resizes may flow.
    private func upstreamReady() {
        guard let channel = connectingUpstream else { return }
        connectingUpstream = nil
        guard link.client.channel.isActive else { return channel.close(promise: nil) }
        link.attach(upstream: Output(channel: channel))
        if !driver.upstreamOpened() { channel.close(promise: nil) }
    }

    func startUpstream() {
        for resize in pendingResizes { link.toUpstream(.data(resize)) }
        pendingResizes = []
    }

    func inputArrived(_ input: ByteBuffer) {
        if admitted.options.tty { input.withUnsafeReadableBytes { tracked.recorder?.input($0) } }
    }

    func sendUpstream(_ input: ByteBuffer) {
        link.toUpstream(.data(KubeStreamFrame(.stdin, Array(input.readableBytesView))))
    }

    func closeUpstreamOutput() {
        // SPDY and v5 can say "stdin is done" (the codec of an older WebSocket protocol drops
        // it: the stream stays open until the end).
        link.toUpstream(.end(.stdin))
        link.flushUpstream()
    }

    func closeUpstream() {
        guard let upstream = link.upstream?.channel ?? connectingUpstream else { return }
        upstream.writeAndFlush(KubeStreamEvent.finish).whenComplete { _ in
            upstream.close(promise: nil)
        }
    }

    func sendToClient(_ output: ByteBuffer, stream: OutputMasking.Stream) {
        let channel: KubeStreamChannel = stream == .stderr ? .stderr : .stdout
        link.toClient(.data(KubeStreamFrame(channel, Array(output.readableBytesView))))
    }

    func flushClient() { link.flushClient() }
    func flushUpstream() { link.flushUpstream() }
    func pauseClientReads() { link.pauseClientReads() }
    func resumeClientReads() { link.resumeClientReads() }

    var clientConnected: @Sendable () -> Bool {
        { [client = link.client.channel] in client.isActive }
    }

    /// The exit on the error channel (v4 and later: a `Status`; earlier: the message as text),
    /// then the WebSocket close.
    func sendExit(_ exit: CommandChannelStateMachine.Exit?) {
        let status: [UInt8]?
        switch exit {
        case .status(let code)?:
            if let upstreamError, code != 0 { status = upstreamError } else if kind.reportsStatus { status = KubeStatus.exit(code).json } else { status = code == 0 ? nil : Array("command terminated with non-zero exit code: exit status \(code)".utf8) }
        case .signal(let name)?:
            status = KubeStatus(success: false, message: "command terminated by signal \(name)", reason: "InternalError").json
        case nil:
            status = upstreamError
        }
        if let status { link.toClient(.data(KubeStreamFrame(.error, status))) }
        link.client.enqueue(.finish)
        link.flushClient()
        let client = link.client.channel
        link.client.written().whenComplete { _ in client.close(promise: nil) }
    }

    // MARK: - Events

    func read(_ event: KubeStreamEvent, from side: RelaySide) {
        switch (event, side) {
        case (.data(let frame), .client):
            clientFrame(frame)
        case (.data(let frame), .upstream):
            upstreamFrame(frame)
        case (.end(.stdin), .client):
            driver.clientEOF()
        case (.end, _):
            // The target's stdout or stderr is done: its exit or its close follows.
            break
        case (.ready, .client):
            begin()
        case (.ready, .upstream):
            upstreamReady()
        case (.finish, .client):
            // The close is answered, then the client's connection ends.
            driver.clientEOF()
            link.client.channel.writeAndFlush(KubeStreamEvent.finish).whenComplete { [client = link.client.channel] _ in client.close(promise: nil) }
        case (.finish, .upstream):
            driver.upstreamOutputEnded()
            closeUpstream()
        }
    }

    private func clientFrame(_ frame: KubeStreamFrame) {
        switch KubeStreamChannel(rawValue: frame.channel) {
        case .stdin?:
            driver.clientInput(ByteBuffer(bytes: frame.payload))
        case .resize?:
            if let size = try? JSONSerialization.jsonObject(with: Data(frame.payload)) as? [String: Any],
               let width = size["Width"] as? Int, let height = size["Height"] as? Int, width > 0, height > 0 {
                tracked.recorder?.resize(width: width, height: height)
            }
            if link.upstream == nil { pendingResizes.append(frame) } else { link.toUpstream(.data(frame)) }
        default:
            // Output channels from the client, or unknown ones: nothing to relay.
            break
        }
    }

    private func upstreamFrame(_ frame: KubeStreamFrame) {
        switch KubeStreamChannel(rawValue: frame.channel) {
        case .stdout?:
            driver.upstreamOutput(ByteBuffer(bytes: frame.payload), stream: .stdout)
        case .stderr?:
            driver.upstreamOutput(ByteBuffer(bytes: frame.payload), stream: .stderr)
        case .error?:
            if let code = KubeExitStatus.code(of: frame.payload, structured: upstreamReportsStatus) {
                driver.upstreamExited(.status(code))
            } else {
                upstreamError = frame.payload
                driver.upstreamExited(.status(1))
            }
        default:
            break
        }
    }

    // MARK: - Channel events

    func closed(_ side: RelaySide) {
        switch side {
        case .client:
            driver.clientClosed()
            ended.succeed()
        case .upstream:
            driver.upstreamOutputEnded()
            driver.upstreamClosed()
        }
    }

    func error(_ error: any Error, on side: RelaySide) {
        if side == .upstream {
            // The target's stream broke (a message that does not read, a protocol error): the
            // client is told, rather than given what was left of it as if complete.
            driver.endByGateway("access gateway: the API server's stream broke: \(error)")
        }
        (side == .client ? link.client.channel : link.upstream?.channel)?.close(promise: nil)
    }

    /// The gateway ends the stream (kill, shutdown, token expiry): told on stderr.
    func terminate(_ reason: String) {
        eventLoop.execute { self.driver.endByGateway("access gateway: \(reason)") }
    }
}

/// The exit code an exec's error channel reports: v4+ `Status` (Success: 0; NonZeroExitCode:
/// the `ExitCode` cause), nil for any other failure.
enum KubeExitStatus {
    static func code(of payload: [UInt8], structured: Bool) -> Int? {
        guard structured else { return nil }
        guard let status = try? JSONSerialization.jsonObject(with: Data(payload)) as? [String: Any] else { return nil }
        if status["status"] as? String == "Success" { return 0 }
        guard status["reason"] as? String == "NonZeroExitCode",
              let causes = (status["details"] as? [String: Any])?["causes"] as? [[String: Any]],
              let exit = causes.first(where: { $0["reason"] as? String == "ExitCode" })?["message"] as? String else { return nil }
        return Int(exit)
    }
}

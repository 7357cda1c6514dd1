import GatewayConfig
import GatewayPolicy
import GatewayRecording
import GatewayRuntime
import GatewaySession
import GatewayState
import KubeExecGatewayCore
import Logging
import NIOCore

/// One `kubectl port-forward` connection, where the connection allows it: the client's SPDY
/// session (over SPDY/3.1 itself, or tunnelled in WebSocket binary messages) is passed to the
/// API server unchanged, and read on the way (`SPDYStreamObserver`) for the streams it opens:
/// every forwarded connection's port is audited and recorded. Bytes that do not read as SPDY
/// end the connection. What travels inside a forwarded connection is not inspected, masked or
/// recorded (its size is): that is why a connection with masking refuses port forwarding.
///
/// `@unchecked Sendable`: handed to futures and tasks, used on `eventLoop` only.
final class KubePortForwardRelay: LinkedRelay, @unchecked Sendable {
    typealias Inbound = ByteBuffer
    typealias Output = ChannelOutput<ByteBuffer>

    let admitted: KubeExecUpgrade.Admitted
    let tracked: TrackedSession
    let environment: GatewayEnvironment
    let clientAddress: String
    let eventLoop: any EventLoop
    let link: RelayLink<Output, Output>
    let ended: EventLoopPromise<Void>
    private let observer: SPDYStreamObserver
    private let tally: ByteTally
    /// What the client sent before the API server's side opened.
    private var early: [ByteBuffer] = []
    private var sent = 0
    private var received = 0
    private var forwarded: Set<String> = []

    var target: String { "pods/\(admitted.request.name ?? "") -n \(admitted.request.namespace ?? "default")" }

    static func start(
        _ admitted: KubeExecUpgrade.Admitted, environment: GatewayEnvironment, clientAddress: String, client: any Channel, logger: Logger
    ) async throws -> KubePortForwardRelay {
        let tracked = admitted.tracked
        do {
            let observer = try SPDYStreamObserver()
            let relay = try await client.eventLoop.submit {
                let relay = KubePortForwardRelay(admitted: admitted, tracked: tracked, environment: environment, clientAddress: clientAddress, client: client, observer: observer)
                if !admitted.overSPDY {
                    try client.pipeline.syncOperations.addHandler(KubeExecUpgrade.aggregator())
                    try client.pipeline.syncOperations.addHandler(KubeWebSocketBytesCodec(isClient: false))
                }
                try client.pipeline.syncOperations.addHandler(RelaySideHandler(endpoint: relay, side: .client))
                relay.begin()
                return relay
            }.get()
            admitted.terminator.set { [weak relay] _ in relay?.link.client.channel.close(promise: nil) }
            return relay
        } catch {
            await tracked.end()
            throw error
        }
    }

    private init(
        admitted: KubeExecUpgrade.Admitted, tracked: TrackedSession, environment: GatewayEnvironment, clientAddress: String, client: any Channel,
        observer: SPDYStreamObserver
    ) {
        self.admitted = admitted
        self.tracked = tracked
        self.environment = environment
        self.clientAddress = clientAddress
        self.eventLoop = client.eventLoop
        self.ended = client.eventLoop.makePromise()
        self.link = RelayLink(client: Output(channel: client), upstream: nil)
        self.observer = observer
        self.tally = ByteTally(metrics: environment.metrics)
    }

    private func begin() {
        tally.start(on: eventLoop)
        let command = "port-forward \(target)"
        tracked.recorder?.record(RecordingEvent(type: .forward, command: command, decision: AuditAction.allow.rawValue))
        environment.audit.enqueue(.allow, identity: admitted.session.identity, connection: admitted.session.connection.name, session: tracked.id, command: command)
        let relay = self
        KubeUpstreamExec.open(admitted.upstream, target: admitted.target, stream: .portForward(overSPDY: admitted.overSPDY), identity: admitted.session.identity, on: eventLoop, timeout: environment.endpoint.upstreamTimeout) { channel, _ in
            try channel.pipeline.syncOperations.addHandler(RelaySideHandler(endpoint: relay, side: .upstream))
            relay.upstreamOpened(channel)
        }.whenFailure { error in
            relay.tracked.recorder?.record(RecordingEvent(type: .error, command: command, error: "access gateway: \(error)"))
            relay.link.client.channel.close(promise: nil)
        }
    }

    private func upstreamOpened(_ channel: any Channel) {
        guard link.client.channel.isActive else { return channel.close(promise: nil) }
        link.attach(upstream: Output(channel: channel))
        for bytes in early { link.toUpstream(bytes) }
        early = []
        link.flushUpstream()
    }

    /// Completes when the connection ended and its recording is sealed.
    func finished() async {
        try? await ended.futureResult.get()
        await tracked.end()
    }

    // MARK: - Relay

    func read(_ bytes: ByteBuffer, from side: RelaySide) {
        switch side {
        case .client:
            do {
                for opened in try bytes.withUnsafeReadableBytes({ try observer.observe($0) }) { streamOpened(opened) }
            } catch {
                // What cannot be read as SPDY is not passed on.
                tracked.recorder?.record(RecordingEvent(type: .error, command: "port-forward \(target)", error: "access gateway: \(error)"))
                link.client.channel.close(promise: nil)
                return
            }
            sent += bytes.readableBytes
            tally.sentUpstream(bytes.readableBytes)
            if link.upstream == nil { early.append(bytes) } else { link.toUpstream(bytes) }
        case .upstream:
            received += bytes.readableBytes
            tally.sentDownstream(bytes.readableBytes)
            link.toClient(bytes)
        }
    }

    /// A forwarded connection's data stream: its port is audited and recorded, once per port.
    private func streamOpened(_ opened: SPDYStreamObserver.Opened) {
        guard opened.headers["streamtype"] == "data", let port = opened.headers["port"] else { return }
        let command = "port-forward \(target) port \(port)"
        tracked.recorder?.record(RecordingEvent(type: .forward, command: command, decision: AuditAction.allow.rawValue, detail: "request \(opened.headers["requestid"] ?? "?")"))
        if forwarded.insert(port).inserted {
            environment.audit.enqueue(.allow, identity: admitted.session.identity, connection: admitted.session.connection.name, session: tracked.id, command: command)
        }
    }

    func closed(_ side: RelaySide) {
        switch side {
        case .client:
            link.closeUpstream()
            tally.flush()
            tracked.recorder?.record(RecordingEvent(type: .forward, command: "port-forward \(target)", detail: "ended: \(sent) bytes to the pod, \(received) back"))
            ended.succeed()
        case .upstream:
            link.client.channel.close(promise: nil)
        }
    }

    func error(_ error: any Error, on side: RelaySide) {
        (side == .client ? link.client.channel : link.upstream?.channel)?.close(promise: nil)
    }
}

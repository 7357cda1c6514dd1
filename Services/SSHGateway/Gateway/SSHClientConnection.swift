import Foundation
import GatewayConfig
import GatewayPolicy
import GatewayRecording
import GatewayRuntime
import GatewaySession
import GatewayState
import Logging
import NIOCore
import NIOSSH
import Synchronization

/// One client's SSH connection to the gateway: who authenticated for which connection, the
/// session's bookkeeping (recording, store row, audit), and the gateway's own connection to
/// the target, opened once on first use and shared by every channel.
///
/// `@unchecked Sendable`: the mutable state is touched on `eventLoop` only, except the fields
/// behind `lock`, which the authentication task sets.
final class SSHClientConnection: @unchecked Sendable {
    /// Password attempts (tokens) allowed per connection.
    static let maximumTokenAttempts = 3

    struct Authenticated: Sendable {
        var identity: Identity
        var connection: ConnectionConfiguration
        var upstream: SSHUpstream
        var tracked: TrackedSession
    }

    let environment: GatewayEnvironment
    /// The connection's slot until the client authenticates (nil in tests that build one by hand).
    let handshake: Handshake?
    let channel: any Channel
    let eventLoop: any EventLoop
    let clientAddress: String
    let sessionID = SessionRecord.newID()
    let logger: Logger
    private let state = Mutex<(authenticated: Authenticated?, failures: Int, refusal: SessionRefusal?)>((nil, 0, nil))

    private var upstream: EventLoopFuture<any Channel>?
    /// For `limits.idle_timeout`: when bytes last moved (on any channel), and how many
    /// commands wait for review (a session waiting on a reviewer is not idle).
    private var idleClock: IdleClock?
    private var pendingReviews = 0
    private var relays: [ObjectIdentifier: SessionChannelRelay] = [:]
    private var ended = false
    /// Terminal channels (exec, shell, subsystem) seen, for `terminal.cast`.
    private var terminalStarted = false

    init(environment: GatewayEnvironment, channel: any Channel, handshake: Handshake? = nil) {
        self.environment = environment
        self.handshake = handshake
        self.channel = channel
        self.eventLoop = channel.eventLoop
        self.clientAddress = ClientAddress.describe(channel.remoteAddress)
        var logger = environment.logger
        logger[metadataKey: "gateway.session_id"] = "\(sessionID)"
        self.logger = logger
    }

    var authenticated: Authenticated? { state.withLock { $0.authenticated } }
    /// Set when the token was accepted but the session could not start: its channels say why.
    var refusal: SessionRefusal? { state.withLock { $0.refusal } }

    // MARK: - Authentication

    /// Checks the token and the connection the user name selects; starts the session on success.
    func authenticate(username: String, token: String) async -> Bool {
        if state.withLock({ $0.authenticated != nil || $0.refusal != nil }) { return false }
        let admission = Admission(environment: environment, selector: "the SSH user name")
        let admitted = await admission.admit(token: token, connection: username, clientAddress: clientAddress, logger: logger) { candidate in
            if case .ssh = candidate.upstream { true } else { false }
        }
        guard case .success(let admitted) = admitted, case .ssh(let upstream) = admitted.connection.upstream else { return failed() }
        handshake?.authenticated()
        let tracked: TrackedSession
        do {
            tracked = try await TrackedSession.start(
                id: sessionID, environment: environment, identity: admitted.identity, connection: admitted.connection, clientAddress: clientAddress,
                logger: logger, terminate: { [weak self] reason in self?.terminate(reason: reason) }
            )
        } catch {
            // Let in only to be told why (RefusedSessionChannel); the target is never dialled.
            state.withLock { $0.refusal = error }
            // A client that opens no channel to hear it is let go.
            eventLoop.scheduleTask(in: .seconds(10)) { [channel] in channel.close(promise: nil) }
            return true
        }
        state.withLock { $0.authenticated = Authenticated(identity: admitted.identity, connection: admitted.connection, upstream: upstream, tracked: tracked) }
        eventLoop.execute { self.startIdleTimer() }
        return true
    }

    private func failed() -> Bool {
        let failures = state.withLock { state -> Int in
            state.failures += 1
            return state.failures
        }
        if failures >= Self.maximumTokenAttempts {
            channel.close(promise: nil)
        }
        return false
    }

    // MARK: - The target

    /// The authenticated connection to the target, opened on first use. On the event loop.
    func upstreamChannel() -> EventLoopFuture<any Channel> {
        eventLoop.preconditionInEventLoop()
        if let upstream { return upstream }
        guard let authenticated else { return eventLoop.makeFailedFuture(SSHGatewayFailure("not authenticated")) }
        let target = authenticated.upstream
        let eventLoop = self.eventLoop
        let timeout = environment.endpoint.upstreamTimeout
        let future = eventLoop.makeFutureWithTask { try await UpstreamSSH.connect(target, on: eventLoop, timeout: timeout) }
        future.whenComplete { [weak self] result in
            guard let self else { return }
            switch result {
            case .success(let upstream):
                upstream.closeFuture.whenComplete { _ in self.channel.close(promise: nil) }
            case .failure(let error):
                let message = (error as? SSHGatewayFailure)?.message ?? "\(error)"
                self.logger.warning("the target could not be used", metadata: ["gateway.error": "\(message)"])
                Task {
                    await self.environment.audit.record(
                        .error, identity: authenticated.identity, connection: authenticated.connection.name, session: self.sessionID,
                        detail: message, clientAddress: self.clientAddress
                    )
                }
            }
        }
        upstream = future
        return future
    }

    /// Starts `terminal.cast` with the first terminal channel's size and command.
    func beginTerminal(_ info: TerminalInfo) {
        eventLoop.preconditionInEventLoop()
        guard !terminalStarted else { return }
        terminalStarted = true
        authenticated?.tracked.recorder?.beginTerminal(info)
    }

    // MARK: - Activity and idle sessions

    func touch() {
        idleClock?.touch()
    }

    func reviewStarted() {
        pendingReviews += 1
    }

    func reviewEnded() {
        pendingReviews -= 1
        idleClock?.touch()
    }

    func register(_ relay: SessionChannelRelay) {
        relays[ObjectIdentifier(relay)] = relay
    }

    func unregister(_ relay: SessionChannelRelay) {
        relays[ObjectIdentifier(relay)] = nil
    }

    /// `limits.idle_timeout`: no bytes in either direction on any channel, and nothing waiting
    /// for review, for that long: each session channel is told on stderr, then the connection
    /// closes. (A silent long-running command counts as idle: SSH cannot tell it from a shell
    /// waiting at its prompt.)
    private func startIdleTimer() {
        eventLoop.preconditionInEventLoop()
        guard idleClock == nil, !ended, let session = authenticated else { return }
        let clock = IdleClock(timeout: session.connection.limits.idleTimeout, eventLoop: eventLoop)
        guard clock.isEnabled else { return }
        idleClock = clock
        clock.start(mayEnd: { [weak self] in self.map { !$0.ended && $0.pendingReviews == 0 } ?? false }) { [weak self] limit in
            guard let self, !self.ended else { return }
            let message = "access gateway: session closed after \(limit) without activity (limits.idle_timeout)"
            session.tracked.recorder?.record(RecordingEvent(type: .error, error: message))
            self.environment.audit.enqueue(.idleTimeout, identity: session.identity, connection: session.connection.name, session: self.sessionID, detail: message)
            for relay in self.relays.values { relay.endByGateway(message) }
            self.eventLoop.scheduleTask(in: .milliseconds(200)) { self.channel.close(promise: nil) }
        }
    }

    // MARK: - Ending

    /// Kill (admin API), shutdown or an expired token: each open channel is told why on
    /// stderr, then the client's connection and the target's close.
    func terminate(reason: String) {
        eventLoop.execute {
            // Each channel is told why and ended first; the connections close a moment later.
            // (Closing the target's connection at once closed the client's with it, before the
            // reason had left: the client saw a dropped connection and exit status 255.)
            for relay in self.relays.values { relay.endByGateway("access gateway: \(reason)") }
            self.eventLoop.scheduleTask(in: .milliseconds(200)) {
                self.upstream?.whenSuccess { $0.close(promise: nil) }
                self.channel.close(promise: nil)
            }
        }
    }

    /// The client's TCP connection closed: close the target's.
    func closed() {
        eventLoop.preconditionInEventLoop()
        guard !ended else { return }
        ended = true
        idleClock?.stop()
        relays = [:]
        upstream?.whenSuccess { $0.close(promise: nil) }
    }

    /// Serves the connection until it closes, then seals its recording and audits its end.
    func serve() async {
        try? await channel.closeFuture.get()
        await authenticated?.tracked.end()
    }
}

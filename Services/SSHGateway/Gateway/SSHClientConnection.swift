import Foundation
import GatewayConfig
import GatewayPolicy
import GatewayRecording
import GatewayRuntime
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
    let channel: any Channel
    let eventLoop: any EventLoop
    let clientAddress: String
    let sessionID = SessionRecord.newID()
    let logger: Logger
    private let state = Mutex<(authenticated: Authenticated?, failures: Int)>((nil, 0))

    private var upstream: EventLoopFuture<any Channel>?
    /// For `limits.idle_timeout`: when bytes last moved, and how many commands wait for review.
    private var lastActivity = NIODeadline.now()
    private var pendingReviews = 0
    private var relays: [ObjectIdentifier: SessionChannelRelay] = [:]
    private var idleCheck: RepeatedTask?
    private var ended = false
    /// Terminal channels (exec, shell, subsystem) seen, for `terminal.cast`.
    private var terminalStarted = false

    init(environment: GatewayEnvironment, channel: any Channel) {
        self.environment = environment
        self.channel = channel
        self.eventLoop = channel.eventLoop
        self.clientAddress = channel.remoteAddress.map { address in
            guard let ip = address.ipAddress, let port = address.port else { return address.description }
            return ip.contains(":") ? "[\(ip)]:\(port)" : "\(ip):\(port)"
        } ?? "unknown"
        var logger = environment.logger
        logger[metadataKey: "gateway.session_id"] = "\(sessionID)"
        self.logger = logger
    }

    var authenticated: Authenticated? { state.withLock { $0.authenticated } }

    // MARK: - Authentication

    /// Checks the token and the connection the user name selects; starts the session on success.
    func authenticate(username: String, token: String) async -> Bool {
        if state.withLock({ $0.authenticated != nil }) { return false }
        let refusal: String
        let identity: Identity
        do {
            identity = try await environment.verifier.verify(token.trimmingCharacters(in: .whitespacesAndNewlines))
        } catch {
            environment.metrics.authenticationFailure(reason: error.code.rawValue)
            await environment.audit.record(.deny, identity: nil, connection: username, detail: error.description, clientAddress: clientAddress)
            logger.notice("authentication refused", metadata: ["gateway.reason": "\(error.code.rawValue)", "gateway.client": "\(clientAddress)"])
            return failed()
        }
        if let connection = environment.connections.first(where: { $0.name == username }), case .ssh(let upstream) = connection.upstream {
            if case .deny(let reason) = environment.policy.authorize(identity, for: connection.policy) {
                refusal = reason
                environment.metrics.decision("deny", connection: connection.name)
            } else {
                let tracked = await TrackedSession.start(
                    id: sessionID, environment: environment, identity: identity, connection: connection, clientAddress: clientAddress,
                    logger: logger, terminate: { [weak self] reason in self?.terminate(reason: reason) }
                )
                state.withLock { $0.authenticated = Authenticated(identity: identity, connection: connection, upstream: upstream, tracked: tracked) }
                eventLoop.execute { self.startIdleTimer() }
                return true
            }
        } else {
            refusal = "unknown connection \"\(username)\" (the SSH user name selects the connection)"
        }
        await environment.audit.record(.deny, identity: identity, connection: username, detail: refusal, clientAddress: clientAddress)
        logger.notice("access refused", metadata: ["gateway.user": "\(identity.subject)", "gateway.connection": "\(username)"])
        return failed()
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
        let future = eventLoop.makeFutureWithTask { try await UpstreamSSH.connect(target, on: eventLoop) }
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
        lastActivity = .now()
    }

    func reviewStarted() {
        pendingReviews += 1
    }

    func reviewEnded() {
        pendingReviews -= 1
        lastActivity = .now()
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
        guard let seconds = authenticated?.connection.limits.idleTimeout, seconds > 0, idleCheck == nil, !ended else { return }
        let timeout = TimeAmount.milliseconds(Int64(seconds * 1000))
        let interval = TimeAmount.milliseconds(max(100, min(30_000, Int64(seconds * 250))))
        idleCheck = eventLoop.scheduleRepeatedTask(initialDelay: interval, delay: interval) { [weak self] task in
            guard let self, !self.ended else { return task.cancel() }
            guard self.pendingReviews == 0, NIODeadline.now() - self.lastActivity >= timeout else { return }
            task.cancel()
            let message = "access gateway: session closed after \(seconds.formatted()) s without activity (limits.idle_timeout)"
            if let session = self.authenticated {
                session.tracked.recorder?.record(RecordingEvent(type: "error", error: message))
                self.environment.audit.enqueue(.idleTimeout, identity: session.identity, connection: session.connection.name, session: self.sessionID, detail: message)
            }
            for relay in self.relays.values { relay.endForIdleness(message) }
            self.eventLoop.scheduleTask(in: .milliseconds(200)) { self.channel.close(promise: nil) }
        }
    }

    // MARK: - Ending

    /// Kill (admin API), shutdown or an expired token: each open channel is told why on
    /// stderr, then the client's connection and the target's close.
    func terminate(reason: String) {
        eventLoop.execute {
            for relay in self.relays.values { relay.endForIdleness("access gateway: \(reason)") }
            self.upstream?.whenSuccess { $0.close(promise: nil) }
            self.eventLoop.scheduleTask(in: .milliseconds(200)) { self.channel.close(promise: nil) }
        }
    }

    /// The client's TCP connection closed: close the target's, then seal and audit.
    func closed() {
        eventLoop.preconditionInEventLoop()
        guard !ended else { return }
        ended = true
        idleCheck?.cancel()
        relays = [:]
        upstream?.whenSuccess { $0.close(promise: nil) }
        if let tracked = authenticated?.tracked {
            Task { await tracked.end() }
        }
    }
}

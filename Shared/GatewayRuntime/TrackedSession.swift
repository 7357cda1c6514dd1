import Foundation
import GatewayConfig
import GatewayIdentity
import GatewayPolicy
import GatewayRecording
import GatewayState
import Logging

/// The bookkeeping every gateway does around a session, in one place: the recording, the
/// session row in the shared store (so any instance can list and kill it), the local
/// registry, metrics and the connect and disconnect audit events.
public final class TrackedSession: Sendable {
    public let id: String
    public let environment: GatewayEnvironment
    public let identity: Identity
    public let connection: ConnectionConfiguration
    public let clientAddress: String
    public let recorder: SessionRecorder?
    public let record: SessionRecord
    let logger: Logger
    /// Ends the session when its token expires (`identity.session_expiry: end`).
    private let expiry: Task<Void, Never>?

    private init(
        id: String, environment: GatewayEnvironment, identity: Identity, connection: ConnectionConfiguration, clientAddress: String,
        recorder: SessionRecorder?, record: SessionRecord, logger: Logger, expiry: Task<Void, Never>?
    ) {
        self.expiry = expiry
        self.id = id
        self.environment = environment
        self.identity = identity
        self.connection = connection
        self.clientAddress = clientAddress
        self.recorder = recorder
        self.record = record
        self.logger = logger
    }

    /// Starts recording (when the connection records), stores and registers the session and
    /// audits the connect. `terminate` is what a kill (admin API, shutdown) calls.
    ///
    /// Fails closed, refused and audited as `deny`: when the state store does not take the
    /// session's row (nobody could list, kill or audit it), and when the recording cannot be
    /// started on a connection with `record: true`. With `record: best_effort` the session
    /// runs unrecorded instead, audited as an `error`. A recording that fails mid-way ends a
    /// `record: true` session (its recording sealed with what was written) and leaves a
    /// best-effort one running.
    public static func start(
        id: String, environment: GatewayEnvironment, identity: Identity, connection: ConnectionConfiguration, clientAddress: String,
        terminal: TerminalInfo? = nil, logger: Logger, terminate: @escaping @Sendable (String) async -> Void
    ) async throws(SessionRefusal) -> TrackedSession {
        var recorder: SessionRecorder?
        if connection.record {
            let onFailure: @Sendable (String) -> Void = { failure in
                Task {
                    await recordingFailed(
                        failure, id: id, environment: environment, identity: identity, connection: connection,
                        clientAddress: clientAddress, logger: logger, terminate: terminate
                    )
                }
            }
            do {
                recorder = try SessionRecorder(
                    directory: environment.configuration.recordings.directory,
                    meta: RecordingMeta(
                        sessionID: id, service: environment.service.serviceName, connection: connection.name,
                        identity: .init(sub: identity.subject, email: identity.email, groups: identity.groups), clientAddress: clientAddress
                    ),
                    terminal: terminal,
                    signer: environment.signer,
                    onFailure: onFailure
                )
            } catch {
                logger.error("the session recording could not be started", metadata: ["gateway.error": "\(error)", "gateway.connection": "\(connection.name)"])
                environment.metrics.recordingFailure(connection: connection.name)
                if connection.recording == .required {
                    environment.metrics.decision(AuditAction.deny.rawValue, connection: connection.name)
                    await environment.audit.record(
                        .deny, identity: identity, connection: connection.name, session: id, rule: "recording",
                        detail: "the recording could not be started: \(error)", clientAddress: clientAddress
                    )
                    throw SessionRefusal(
                        reason: .recording,
                        message: "the session cannot be recorded (the gateway's recordings disk is full or failing), and connection \"\(connection.name)\" requires a recording"
                    )
                }
                await environment.audit.record(
                    .error, identity: identity, connection: connection.name, session: id, rule: "recording",
                    detail: "running unrecorded (record: best_effort): the recording could not be started: \(error)", clientAddress: clientAddress
                )
            }
        }
        let record = SessionRecord(
            id: id, service: environment.service.serviceName, connection: connection.name,
            user: Person(subject: identity.subject, email: identity.email, groups: identity.groups),
            clientAddress: clientAddress, instance: environment.instanceID, recordingPath: recorder?.folder
        )
        do {
            try await environment.store.upsert(record)
        } catch {
            let detail = "the state store did not take the session: \(error)"
            logger.error("session refused: the state store is unreachable", metadata: ["gateway.error": "\(error)", "gateway.connection": "\(connection.name)"])
            recorder?.record(RecordingEvent(type: .error, decision: AuditAction.deny.rawValue, rule: "state-store", error: "session refused: the state store is unreachable"))
            _ = try? recorder?.finish(status: "refused")
            environment.metrics.decision(AuditAction.deny.rawValue, connection: connection.name)
            // Kept in the fallback file while the store is away.
            await environment.audit.record(.deny, identity: identity, connection: connection.name, session: id, rule: "state-store", detail: detail, clientAddress: clientAddress)
            throw SessionRefusal(reason: .stateStore, message: "the gateway's state store is unreachable; new sessions are refused until it answers")
        }
        environment.sessions.add(.init(id: id, connection: connection.name, terminate: terminate))
        environment.metrics.sessionStarted(connection: connection.name)
        await environment.audit.record(.connect, identity: identity, connection: connection.name, session: id, clientAddress: clientAddress)
        logger.info("session started", metadata: ["gateway.connection": "\(connection.name)", "gateway.user": "\(identity.subject)"])
        var expiry: Task<Void, Never>?
        if environment.configuration.identity.sessionExpiry == .end {
            expiry = Task { [recorder] in
                await Self.endAtExpiry(
                    id: id, environment: environment, identity: identity, connection: connection.name,
                    clientAddress: clientAddress, recorder: recorder, terminate: terminate
                )
            }
        }
        return TrackedSession(
            id: id, environment: environment, identity: identity, connection: connection, clientAddress: clientAddress,
            recorder: recorder, record: record, logger: logger, expiry: expiry
        )
    }

    /// Waits until the token is past its expiry (as verification counts it: with the same
    /// leeway), then records, audits and ends the session with the protocol's own message.
    private static func endAtExpiry(
        id: String, environment: GatewayEnvironment, identity: Identity, connection: String, clientAddress: String,
        recorder: SessionRecorder?, terminate: @Sendable (String) async -> Void
    ) async {
        let end = identity.expiresAt.addingTimeInterval(TokenVerifier.leeway)
        let wait = end.timeIntervalSinceNow
        if wait > 0 {
            do { try await Task.sleep(for: .milliseconds(Int(min(wait, 1e9) * 1000) + 1)) } catch { return }
        }
        guard !Task.isCancelled else { return }
        let message = "the session's token expired at \(identity.expiresAt.formatted(.iso8601)); reconnect with a fresh token"
        recorder?.record(RecordingEvent(type: .error, decision: "kill", rule: "session_expiry", error: message))
        environment.metrics.decision("kill", connection: connection)
        await environment.audit.record(.kill, identity: identity, connection: connection, session: id, rule: "session_expiry", detail: message, clientAddress: clientAddress)
        await terminate(message)
    }

    /// The recording stopped taking writes mid-session (`SessionRecorder`'s `onFailure`).
    private static func recordingFailed(
        _ failure: String, id: String, environment: GatewayEnvironment, identity: Identity, connection: ConnectionConfiguration,
        clientAddress: String, logger: Logger, terminate: @Sendable (String) async -> Void
    ) async {
        environment.metrics.recordingFailure(connection: connection.name)
        logger.error("the session recording stopped taking writes", metadata: ["gateway.error": "\(failure)", "gateway.connection": "\(connection.name)"])
        guard connection.recording == .required else {
            await environment.audit.record(
                .error, identity: identity, connection: connection.name, session: id, rule: "recording",
                detail: "going on unrecorded (record: best_effort): \(failure)", clientAddress: clientAddress
            )
            return
        }
        let message = "the session's recording failed (the gateway's recordings disk is full or failing), and connection \"\(connection.name)\" requires one: the session is ended"
        environment.metrics.decision("kill", connection: connection.name)
        await environment.audit.record(.kill, identity: identity, connection: connection.name, session: id, rule: "recording", detail: failure, clientAddress: clientAddress)
        await terminate(message)
    }

    /// Marks the session ended (or killed, when an administrator asked), seals the recording
    /// and audits the disconnect. Call once.
    public func end() async {
        expiry?.cancel()
        var status = SessionStatus.ended
        if (try? await environment.store.session(id: id))?.killRequested == true { status = .killed }
        var ended = record
        ended.status = status
        ended.endedAt = Date()
        try? await environment.store.upsert(ended)
        do {
            try recorder?.finish(status: status.rawValue)
            if recorder != nil { await environment.recordings.enqueue(id) }
        } catch {
            logger.error("the session recording could not be sealed", metadata: ["gateway.error": "\(error)"])
        }
        await environment.audit.record(status == .killed ? .kill : .disconnect, identity: identity, connection: connection.name, session: id, clientAddress: clientAddress)
        // Last: a shutdown drains until the registry is empty, then closes the store.
        environment.sessions.remove(id)
        environment.metrics.sessionEnded(connection: connection.name)
        logger.info("session ended")
    }
}

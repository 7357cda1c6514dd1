import Foundation
import GatewayConfig
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

    private init(
        id: String, environment: GatewayEnvironment, identity: Identity, connection: ConnectionConfiguration, clientAddress: String,
        recorder: SessionRecorder?, record: SessionRecord, logger: Logger
    ) {
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
    public static func start(
        id: String, environment: GatewayEnvironment, identity: Identity, connection: ConnectionConfiguration, clientAddress: String,
        terminal: TerminalInfo? = nil, logger: Logger, terminate: @escaping @Sendable (String) async -> Void
    ) async -> TrackedSession {
        var recorder: SessionRecorder?
        if connection.record {
            do {
                recorder = try SessionRecorder(
                    directory: environment.configuration.recordings.directory,
                    meta: RecordingMeta(
                        sessionID: id, service: environment.service.serviceName, connection: connection.name,
                        identity: .init(sub: identity.subject, email: identity.email, groups: identity.groups), clientAddress: clientAddress
                    ),
                    terminal: terminal,
                    signer: environment.signer
                )
            } catch {
                logger.error("the session recording could not be started", metadata: ["gateway.error": "\(error)"])
            }
        }
        let record = SessionRecord(
            id: id, service: environment.service.serviceName, connection: connection.name,
            user: Person(subject: identity.subject, email: identity.email, groups: identity.groups),
            clientAddress: clientAddress, instance: environment.instanceID, recordingPath: recorder?.folder
        )
        try? await environment.store.upsert(record)
        environment.sessions.add(.init(id: id, connection: connection.name, terminate: terminate))
        environment.metrics.sessionStarted(connection: connection.name)
        await environment.audit.record("connect", identity: identity, connection: connection.name, session: id, clientAddress: clientAddress)
        logger.info("session started", metadata: ["gateway.connection": "\(connection.name)", "gateway.user": "\(identity.subject)"])
        return TrackedSession(
            id: id, environment: environment, identity: identity, connection: connection, clientAddress: clientAddress,
            recorder: recorder, record: record, logger: logger
        )
    }

    /// Marks the session ended (or killed, when an administrator asked), seals the recording
    /// and audits the disconnect. Call once.
    public func end() async {
        var status = SessionStatus.ended
        if (try? await environment.store.session(id: id))?.killRequested == true { status = .killed }
        var ended = record
        ended.status = status
        ended.endedAt = Date()
        try? await environment.store.upsert(ended)
        do {
            try recorder?.finish(status: status.rawValue)
        } catch {
            logger.error("the session recording could not be sealed", metadata: ["gateway.error": "\(error)"])
        }
        await environment.audit.record(status == .killed ? "kill" : "disconnect", identity: identity, connection: connection.name, session: id, clientAddress: clientAddress)
        // Last: a shutdown drains until the registry is empty, then closes the store.
        environment.sessions.remove(id)
        environment.metrics.sessionEnded(connection: connection.name)
        logger.info("session ended")
    }
}

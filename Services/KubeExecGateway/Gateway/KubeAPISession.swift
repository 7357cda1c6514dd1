import GatewayConfig
import GatewayPolicy
import GatewayRecording
import GatewayRuntime
import GatewaySession
import GatewayState
import Logging
import NIOCore

/// The API requests of one client connection as one recorded session: started with the first
/// admitted request (its identity and connection), every request's decision and outcome a line
/// of its `events.jsonl`, sealed when the connection ends. A request with another identity or
/// for another connection on the same TCP connection (a client may switch tokens) ends it and
/// starts the next. Killing the session (admin API, token expiry) closes the connection.
/// Exec and attach streams are sessions of their own.
///
/// Used by the connection's serving task only, one request after another.
final class KubeAPISession {
    let environment: GatewayEnvironment
    let channel: any Channel
    let clientAddress: String
    let logger: Logger
    /// The connection's slot until its first request is admitted.
    let handshake: Handshake?
    private var tracked: TrackedSession?

    init(environment: GatewayEnvironment, channel: any Channel, clientAddress: String, logger: Logger, handshake: Handshake? = nil) {
        self.environment = environment
        self.handshake = handshake
        self.channel = channel
        self.clientAddress = clientAddress
        self.logger = logger
    }

    /// The session that records requests by `identity` on `connection`.
    /// Refused (`SessionRefusal`) when the session cannot be stored or recorded.
    func session(for identity: Identity, on connection: ConnectionConfiguration) async throws(SessionRefusal) -> TrackedSession {
        handshake?.authenticated()
        if let tracked, tracked.identity.subject == identity.subject, tracked.connection.name == connection.name { return tracked }
        await end()
        let started = try await TrackedSession.start(
            id: SessionRecord.newID(), environment: environment, identity: identity, connection: connection, clientAddress: clientAddress,
            logger: logger, terminate: { [channel] _ in channel.close(promise: nil) }
        )
        tracked = started
        return started
    }

    /// Seals the recording (the connection ended).
    func end() async {
        guard let tracked else { return }
        self.tracked = nil
        await tracked.end()
    }
}

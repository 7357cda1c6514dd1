import GatewayConfig
import GatewayPolicy
import GatewayRecording
import GatewayRuntime

extension CommandChannelDriver {
    /// The session the channel belongs to.
    public struct Session: Sendable {
        public var environment: GatewayEnvironment
        public var identity: Identity
        public var connection: ConnectionConfiguration
        public var sessionID: String
        public var clientAddress: String
        public var recorder: SessionRecorder?

        public init(environment: GatewayEnvironment, identity: Identity, connection: ConnectionConfiguration, sessionID: String, clientAddress: String, recorder: SessionRecorder?) {
            self.environment = environment
            self.identity = identity
            self.connection = connection
            self.sessionID = sessionID
            self.clientAddress = clientAddress
            self.recorder = recorder
        }
    }
}

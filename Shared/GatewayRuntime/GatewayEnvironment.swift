import GatewayConfig
import GatewayIdentity
import GatewayPolicy
import GatewayRecording
import GatewayState
import GatewayAdmin
import Logging

/// Everything a protocol listener needs, built once at start by `GatewayMain`.
public struct GatewayEnvironment: Sendable {
    public var service: ServiceKind
    public var configuration: GatewayConfiguration
    public var endpoint: ServiceEndpoint
    public var verifier: TokenVerifier
    public var store: any StateStore
    public var audit: AuditTrail
    public var metrics: GatewayMetrics
    public var sessions: SessionRegistry
    public var policy: PolicyEngine
    public var signer: RecordingSigner?
    public var instanceID: String
    public var logger: Logger
    public var webhooks: WebhookNotifier
    /// Waits for review decisions for every held session of this process.
    public var reviews: ReviewWatcher
    /// Copies sealed recordings into the shared store (a no-op on SQLite).
    public var recordings: RecordingUploader

    public init(
        service: ServiceKind, configuration: GatewayConfiguration, endpoint: ServiceEndpoint, verifier: TokenVerifier, store: any StateStore,
        audit: AuditTrail, metrics: GatewayMetrics, sessions: SessionRegistry, policy: PolicyEngine, signer: RecordingSigner?,
        instanceID: String, logger: Logger, webhooks: WebhookNotifier, reviews: ReviewWatcher, recordings: RecordingUploader
    ) {
        self.service = service
        self.configuration = configuration
        self.endpoint = endpoint
        self.verifier = verifier
        self.store = store
        self.audit = audit
        self.metrics = metrics
        self.sessions = sessions
        self.policy = policy
        self.signer = signer
        self.instanceID = instanceID
        self.logger = logger
        self.webhooks = webhooks
        self.reviews = reviews
        self.recordings = recordings
    }

    /// The connections this gateway serves.
    public var connections: [ConnectionConfiguration] { configuration.connections(of: service) }
}

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

    /// The connections this gateway serves.
    public var connections: [ConnectionConfiguration] { configuration.connections(of: service) }
}

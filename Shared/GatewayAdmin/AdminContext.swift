import GatewayIdentity
import GatewayState

/// What the admin surface needs from the running gateway.
public struct AdminContext: Sendable {
    public var service: String
    public var verifier: TokenVerifier
    public var store: any StateStore
    public var adminGroups: [String]
    public var recordingsDirectory: String
    /// The shared store's copies of sealed recordings (PostgreSQL); nil on SQLite.
    public var archive: (any RecordingArchive)?
    /// Base64 Ed25519 public keys a recording's seal must be signed by to verify (this
    /// instance's signing key and `recordings.trusted_keys`); empty: unsigned seals verify.
    public var trustedRecordingKeys: Set<String>
    public var metrics: GatewayMetrics
    public var readiness: [ReadinessCheck]
    /// Ends a session held by this process at once; false when it is not here.
    public var killLocal: @Sendable (String) async -> Bool
    /// Called after a review changed status through this admin API.
    public var reviewDecided: @Sendable (Review) async -> Void

    public init(
        service: String, verifier: TokenVerifier, store: any StateStore, adminGroups: [String], recordingsDirectory: String,
        archive: (any RecordingArchive)? = nil, trustedRecordingKeys: Set<String> = [], metrics: GatewayMetrics, readiness: [ReadinessCheck] = [],
        killLocal: @escaping @Sendable (String) async -> Bool = { _ in false },
        reviewDecided: @escaping @Sendable (Review) async -> Void = { _ in }
    ) {
        self.service = service
        self.verifier = verifier
        self.store = store
        self.adminGroups = adminGroups
        self.recordingsDirectory = recordingsDirectory
        self.archive = archive
        self.trustedRecordingKeys = trustedRecordingKeys
        self.metrics = metrics
        self.readiness = readiness
        self.killLocal = killLocal
        self.reviewDecided = reviewDecided
    }
}

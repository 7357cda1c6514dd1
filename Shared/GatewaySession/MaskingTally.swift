import GatewayMasking
import GatewayPolicy
import GatewayRuntime

/// What masking hid in a session, turned into evidence the same way in every gateway: each
/// value's hits count in `gateway_masking_hits_total` at once; when a unit of output ends (a
/// result, an error, a command's output) the hits since the last one become one `mask` audit
/// event with the command and the counts by kind, and the counts go into its recording line.
public struct MaskingTally {
    let environment: GatewayEnvironment
    let identity: Identity
    let connection: String
    let sessionID: String
    private var pending = MaskingHits()

    public init(environment: GatewayEnvironment, identity: Identity, connection: String, sessionID: String) {
        self.environment = environment
        self.identity = identity
        self.connection = connection
        self.sessionID = sessionID
    }

    /// Counts one value's or message's hits (in the metrics now).
    public mutating func count(_ hits: MaskingHits) {
        guard !hits.isEmpty else { return }
        environment.metrics.maskingHits(hits.counts, connection: connection)
        pending.merge(hits)
    }

    /// Adds hits already in the metrics (a stream's, counted as it went).
    public mutating func add(_ hits: MaskingHits) {
        pending.merge(hits)
    }

    public var isEmpty: Bool { pending.isEmpty }

    /// Ends a unit of output: audits what was masked in it as a `mask` decision on `command`;
    /// returns the counts by kind for the recording (nil when nothing was masked).
    public mutating func close(command: String?) -> [String: Int]? {
        guard !pending.isEmpty else { return nil }
        let counts = pending.counts
        environment.audit.enqueue(.mask, identity: identity, connection: connection, session: sessionID, command: command, detail: pending.summary)
        pending = MaskingHits()
        return counts
    }
}

import CoreMetrics
import Metrics
import Prometheus
import Synchronization

/// The gateway's metrics, through swift-metrics with a Prometheus registry behind it.
///
/// Labels are bounded: service, connection (from the configuration), decision kind,
/// direction and entity name. Never a session id, a user or a command.
public final class GatewayMetrics: Sendable {
    public let registry: PrometheusCollectorRegistry
    private let factory: PrometheusMetricsFactory
    public let service: String
    private let cache = Mutex<[String: CoreMetrics.Counter]>([:])
    private let meters = Mutex<[String: CoreMetrics.Meter]>([:])
    /// Hot-path series, resolved without building label keys: connection → decision → counter.
    private let decisions = Mutex<[String: [String: CoreMetrics.Counter]]>([:])
    private let bytesUpstream: CoreMetrics.Counter
    private let bytesDownstream: CoreMetrics.Counter

    public init(service: String, registry: PrometheusCollectorRegistry = PrometheusCollectorRegistry()) {
        self.service = service
        self.registry = registry
        let factory = PrometheusMetricsFactory(registry: registry)
        self.factory = factory
        self.bytesUpstream = CoreMetrics.Counter(label: "gateway_bytes_relayed_total", dimensions: [("service", service), ("direction", "upstream")], factory: factory)
        self.bytesDownstream = CoreMetrics.Counter(label: "gateway_bytes_relayed_total", dimensions: [("service", service), ("direction", "downstream")], factory: factory)
    }

    private func counter(_ name: String, _ labels: [(String, String)]) -> CoreMetrics.Counter {
        Self.cached(in: cache, name, labels) { CoreMetrics.Counter(label: name, dimensions: labels, factory: factory) }
    }

    private func meter(_ name: String, _ labels: [(String, String)]) -> CoreMetrics.Meter {
        Self.cached(in: meters, name, labels) { CoreMetrics.Meter(label: name, dimensions: labels, factory: factory) }
    }

    /// One metric object per name and label set, created on first use.
    private static func cached<Metric>(in cache: borrowing Mutex<[String: Metric]>, _ name: String, _ labels: [(String, String)], make: () -> Metric) -> Metric {
        let key = name + labels.map { "|\($0.0)=\($0.1)" }.joined()
        return cache.withLock { cache in
            if let existing = cache[key] { return existing }
            let metric = make()
            cache[key] = metric
            return metric
        }
    }

    /// Creates every series for the configured connections at start, so they show as 0.
    public func prepare(connections: [String]) {
        for connection in connections {
            meter("gateway_sessions_active", [("service", service), ("connection", connection)]).set(0)
            counter("gateway_sessions_total", [("service", service), ("connection", connection)]).increment(by: 0)
            counter("gateway_recording_failures_total", [("service", service), ("connection", connection)]).increment(by: 0)
            for decision in ["allow", "deny", "block", "hold", "approve", "reject"] {
                counter("gateway_decisions_total", [("service", service), ("connection", connection), ("decision", decision)]).increment(by: 0)
            }
        }
        meter("gateway_unauthenticated_connections", [("service", service)]).set(0)
        for reason in ["capacity", "timeout"] {
            counter("gateway_handshakes_refused_total", [("service", service), ("reason", reason)]).increment(by: 0)
        }
        for direction in ["upstream", "downstream"] {
            counter("gateway_bytes_relayed_total", [("service", service), ("direction", direction)]).increment(by: 0)
        }
    }

    public func sessionStarted(connection: String) {
        meter("gateway_sessions_active", [("service", service), ("connection", connection)]).increment()
        counter("gateway_sessions_total", [("service", service), ("connection", connection)]).increment()
    }

    public func sessionEnded(connection: String) {
        meter("gateway_sessions_active", [("service", service), ("connection", connection)]).decrement()
    }

    /// A recording that could not start or stopped taking writes (`gateway_recording_failures_total`).
    public func recordingFailure(connection: String) {
        counter("gateway_recording_failures_total", [("service", service), ("connection", connection)]).increment()
    }

    public func decision(_ kind: String, connection: String) {
        decisionCounter(kind, connection: connection).increment()
    }

    /// The `gateway_decisions_total` series of one decision on one connection, for a relay
    /// that counts the same decision statement after statement (no lookup each time).
    public func decisionCounter(_ kind: String, connection: String) -> CoreMetrics.Counter {
        if let counter = decisions.withLock({ $0[connection]?[kind] }) { return counter }
        let counter = counter("gateway_decisions_total", [("service", service), ("connection", connection), ("decision", kind)])
        decisions.withLock { $0[connection, default: [:]][kind] = counter }
        return counter
    }

    /// `upstream`: client → target; `downstream`: target → client.
    public func bytesRelayed(_ count: Int, direction: String) {
        guard count > 0 else { return }
        (direction == "upstream" ? bytesUpstream : bytesDownstream).increment(by: Int64(count))
    }

    public func maskingHits(_ counts: [String: Int], connection: String) {
        for (entity, count) in counts where count > 0 {
            counter("gateway_masking_hits_total", [("service", service), ("connection", connection), ("entity", entity)]).increment(by: Int64(count))
        }
    }

    /// `gateway_unauthenticated_connections`: connections accepted and not yet authenticated.
    public func unauthenticatedConnections(_ change: Int) {
        let gauge = meter("gateway_unauthenticated_connections", [("service", service)])
        if change > 0 { gauge.increment(by: Double(change)) } else { gauge.decrement(by: Double(-change)) }
    }

    /// `gateway_handshakes_refused_total{reason}`: capacity (no slot for another unauthenticated
    /// connection) or timeout (not authenticated in time).
    public func handshakeRefused(reason: String) {
        counter("gateway_handshakes_refused_total", [("service", service), ("reason", reason)]).increment()
    }

    /// `gateway_recording_uploads_total{outcome}`: sealed recordings copied into the shared
    /// state store (`stored`) or not, to be tried again (`failed`).
    public func recordingUpload(_ outcome: String) {
        counter("gateway_recording_uploads_total", [("service", service), ("outcome", outcome)]).increment()
    }

    /// `gateway_recordings_unstored`: sealed recordings of this instance not yet in the shared
    /// store (alert when it stays above 0: only this host has them).
    public func recordingsUnstored(_ count: Int) {
        meter("gateway_recordings_unstored", [("service", service)]).set(Double(count))
    }

    public func authenticationFailure(reason: String) {
        counter("gateway_authentication_failures_total", [("service", service), ("reason", reason)]).increment()
    }

    /// Prometheus text exposition format.
    public func exposition() -> String {
        var buffer: [UInt8] = []
        registry.emit(into: &buffer)
        return String(decoding: buffer, as: UTF8.self)
    }
}

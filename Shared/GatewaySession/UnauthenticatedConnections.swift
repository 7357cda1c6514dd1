import GatewayAdmin
import GatewayConfig
import GatewayRuntime
import Synchronization

/// The connections of one listener that have not authenticated yet, counted in total and per
/// client address against `HandshakeLimits`; `gateway_unauthenticated_connections` shows the
/// total, `gateway_handshakes_refused_total{reason}` what was turned away.
public final class UnauthenticatedConnections: Sendable {
    public let limits: HandshakeLimits
    let metrics: GatewayMetrics?
    private let state = Mutex<(total: Int, byAddress: [String: Int])>((0, [:]))

    public init(limits: HandshakeLimits, metrics: GatewayMetrics?) {
        self.limits = limits
        self.metrics = metrics
    }

    /// Takes a slot for a connection from `address`; false (and counted) when there is none.
    public func admit(_ address: String) -> Bool {
        let admitted = state.withLock { state in
            guard state.total < limits.maximum, state.byAddress[address, default: 0] < limits.maximumPerAddress else { return false }
            state.total += 1
            state.byAddress[address, default: 0] += 1
            return true
        }
        if admitted { metrics?.unauthenticatedConnections(1) } else { metrics?.handshakeRefused(reason: "capacity") }
        return admitted
    }

    /// Gives the slot back (the connection authenticated, or ended).
    public func leave(_ address: String) {
        state.withLock { state in
            state.total -= 1
            let left = state.byAddress[address, default: 1] - 1
            state.byAddress[address] = left > 0 ? left : nil
        }
        metrics?.unauthenticatedConnections(-1)
    }
}

extension UnauthenticatedConnections {
    /// The limits of the gateway's service, counted in its metrics.
    public convenience init(environment: GatewayEnvironment) {
        self.init(limits: environment.endpoint.handshake, metrics: environment.metrics)
    }
}

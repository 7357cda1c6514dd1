import GatewayAdmin
import GatewayRuntime
import NIOCore

/// Bytes a session relayed, for `gateway_bytes_relayed_total`: the counters are shared by
/// every session on every event loop, so a session adds its bytes once a second (and at the
/// end) rather than on every read.
///
/// `@unchecked Sendable` only so the loop's repeated task can hold it weakly: used on the
/// session's event loop only.
public final class ByteTally: @unchecked Sendable {
    @usableFromInline var upstream = 0
    @usableFromInline var downstream = 0
    private let metrics: GatewayMetrics
    private var report: RepeatedTask?

    public init(metrics: GatewayMetrics) {
        self.metrics = metrics
    }

    /// Bytes sent towards the target.
    @inlinable public func sentUpstream(_ count: Int) { upstream &+= count }
    /// Bytes sent towards the client.
    @inlinable public func sentDownstream(_ count: Int) { downstream &+= count }

    public func start(on eventLoop: any EventLoop) {
        eventLoop.preconditionInEventLoop()
        report = eventLoop.scheduleRepeatedTask(initialDelay: .seconds(1), delay: .seconds(1)) { [weak self] _ in
            self?.flush()
        }
    }

    /// Adds what is counted so far to the metrics.
    public func flush() {
        if upstream > 0 { metrics.bytesRelayed(upstream, direction: "upstream") }
        if downstream > 0 { metrics.bytesRelayed(downstream, direction: "downstream") }
        upstream = 0
        downstream = 0
    }

    /// The session ended: a last report, and no more.
    public func stop() {
        report?.cancel()
        report = nil
        flush()
    }
}

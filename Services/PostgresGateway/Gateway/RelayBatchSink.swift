import GatewaySession
import PostgresWire

/// One side's frame batches, taken straight from the frame decoder (see
/// `PostgresFrameBatchSink`) without a trip through the pipeline per read; errors, writability
/// and closing still reach the relay through its `RelaySideHandler`.
final class RelayBatchSink: PostgresFrameBatchSink {
    let core: RelayCore
    let side: RelaySide

    init(core: RelayCore, side: RelaySide) {
        self.core = core
        self.side = side
    }

    func framesArrived(_ batch: [PostgresFrame]) {
        switch side {
        case .client: core.clientRead(batch)
        case .upstream: core.upstreamRead(batch)
        }
    }

    func readComplete() {
        core.readComplete(from: side)
    }
}

/// Takes a channel's frame batches straight from its `PostgresFrameBatchDecoder`, on the
/// channel's event loop: a relay that handles every batch of the channel. Errors and the
/// channel's closing still travel the pipeline.
public protocol PostgresFrameBatchSink: AnyObject {
    /// The frames of one socket read (or of `maximumBatch` frames), in order.
    func framesArrived(_ batch: [PostgresFrame])
    /// The socket read ended: the batches so far are all there is for now.
    func readComplete()
}

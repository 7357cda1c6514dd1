import GatewayRecording
import NIOCore
import PostgresWire

/// The result sets the server sends, as the client sees them and the recording keeps them:
/// columns described once per RowDescription, rows masked and sampled (the first rows, as
/// the client received them), rows past `limits.max_rows` cut off, and at the end of each
/// result or error one recording line with its statement, row count, duration and what
/// masking hid.
struct ResultStream {
    enum Row {
        case send(PostgresFrame)
        /// Past the limit: this result's remaining rows are dropped.
        case overLimit(Int)
        case drop
    }

    let masker: ResultMasker
    let recorder: SessionRecorder?
    let maxRows: Int?
    /// The first rows of the result in flight, for the recording.
    private var sample = ResultSample()
    /// The last RowDescription's payload and its parsed columns.
    private var lastRowDescription: (payload: ByteBuffer, columns: [ResultColumn])?

    init(masker: ResultMasker, recorder: SessionRecorder?, maxRows: Int?) {
        self.masker = masker
        self.recorder = recorder
        self.maxRows = maxRows
    }

    /// A RowDescription's columns, parsed once while the session repeats the same one (a
    /// client running one query again and again): the same array then also keeps the mask
    /// plan without comparing column by column.
    mutating func described(_ frame: PostgresFrame, state: inout RelayState) throws {
        if let last = lastRowDescription, last.payload == frame.payload {
            return state.tracker.rowDescription(last.columns)
        }
        let columns = try RowMessages.parseRowDescription(frame)
        // A copy: a slice would pin the channel's whole receive buffer.
        lastRowDescription = (ByteBuffer(buffer: frame.payload), columns)
        state.tracker.rowDescription(columns)
    }

    mutating func row(_ frame: PostgresFrame, state: inout RelayState) throws -> Row {
        state.rowsInResult += 1
        if state.discardingRows { return .drop }
        if let maxRows, state.rowsInResult > maxRows {
            state.discardingRows = true
            return .overLimit(maxRows)
        }
        let columns = state.tracker.columnsForDataRow()
        if masker.isEmpty {
            if recorder != nil, sample.wantsMore { masker.sample(row: frame, columns: columns, into: &sample) }
            return .send(frame)
        }
        return .send(try masker.mask(row: frame, columns: columns, command: state.tracker.runningCommand, sample: &sample, recorded: recorder != nil))
    }

    /// CommandComplete, EmptyQueryResponse or PortalSuspended: the result is recorded (a
    /// completed one with its sample); nil when its rows were cut off.
    mutating func ended(_ frame: PostgresFrame, state: inout RelayState) -> PostgresFrame? {
        let now = ContinuousClock.now
        let started = state.tracker.resultEnded(at: now)
        state.rowsInResult = 0
        if state.discardingRows { return nil }
        let masked = masker.close(command: started?.command)
        guard frame.type == PostgresMessageType.commandComplete else {
            sample.finish { _, _ in }
            return frame
        }
        let tag = RowMessages.commandTag(frame) ?? ""
        sample.finish { columns, rows in
            recorder?.record(RecordingEvent(
                type: .result, command: started?.command, rows: RowMessages.rowCount(fromTag: tag),
                durationMS: started.map { (now - $0.start).milliseconds }, masked: masked, columns: columns, detail: tag,
                encodedValues: rows
            ))
        }
        return frame
    }

    /// An ErrorResponse, masked and recorded with its statement; nil when it ends rows that
    /// were cut off.
    func failed(_ frame: PostgresFrame, state: inout RelayState) -> PostgresFrame? {
        let started = state.tracker.error()
        state.errorInBatch = true
        if state.discardingRows { return nil }
        let masked = masker.mask(message: frame)
        let fields = BackendMessages.parseFields(masked)
        recorder?.record(RecordingEvent(
            type: .error, command: started?.command, durationMS: started.map { (ContinuousClock.now - $0.start).milliseconds },
            error: "\(fields["C"] ?? ""): \(fields["M"] ?? "")", masked: masker.close(command: started?.command)
        ))
        return masked
    }
}

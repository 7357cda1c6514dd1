import Foundation

/// One line of `events.jsonl`. Fields that do not apply are left out.
public struct RecordingEvent: Sendable, Codable, Hashable {
    /// query, statement, command, decision, result, error, exit, review, mask, note, ...
    public var type: String
    public var time: Date
    public var command: String?
    /// allow, block, hold, approve, reject, expire, cancel
    public var decision: String?
    public var rule: String?
    public var reviewID: String?
    public var rows: Int?
    public var durationMS: Double?
    public var error: String?
    public var exitStatus: Int?
    public var signal: String?
    public var masked: [String: Int]?
    /// Result columns (postgres).
    public var columns: [String]?
    /// Result rows as text (postgres), after masking, capped by the recorder.
    public var values: [[String?]]?
    public var detail: String?
    /// `values` already written as JSON rows (`[...],[...]`, without the outer brackets), by
    /// a relay that encodes result cells straight from the wire; written instead of `values`.
    /// Not decoded: a recording read back has `values`.
    public var encodedValues: [UInt8]? = nil

    public init(
        type: RecordingEventType, time: Date = Date(), command: String? = nil, decision: String? = nil, rule: String? = nil,
        reviewID: String? = nil, rows: Int? = nil, durationMS: Double? = nil, error: String? = nil, exitStatus: Int? = nil,
        signal: String? = nil, masked: [String: Int]? = nil, columns: [String]? = nil, values: [[String?]]? = nil, detail: String? = nil,
        encodedValues: [UInt8]? = nil
    ) {
        self.type = type.rawValue
        self.time = time
        self.command = command
        self.decision = decision
        self.rule = rule
        self.reviewID = reviewID
        self.rows = rows
        self.durationMS = durationMS
        self.error = error
        self.exitStatus = exitStatus
        self.signal = signal
        self.masked = masked
        self.columns = columns
        self.values = values
        self.detail = detail
        self.encodedValues = encodedValues
    }

    enum CodingKeys: String, CodingKey {
        case type, time, command, decision, rule, reviewID = "review_id", rows, durationMS = "duration_ms", error
        case exitStatus = "exit_status", signal, masked, columns, values, detail
    }
}

import Foundation

/// Writes `YYYY-MM-DDTHH:MM:SS.mmmZ` like `RecordingCoding.appendTimestamp`, keeping the text
/// up to the seconds from the last call: a recorder writes many events within one second,
/// and only the milliseconds change (no calendar conversion per event).
struct TimestampWriter {
    private var second = Int.min
    /// `YYYY-MM-DDTHH:MM:SS.` of `second`.
    private var prefix: [UInt8] = []

    mutating func append(_ date: Date, to out: inout [UInt8]) {
        let (seconds, milliseconds) = RecordingCoding.timestampParts(date)
        if seconds != second {
            second = seconds
            prefix.removeAll(keepingCapacity: true)
            RecordingCoding.appendTimestampSeconds(seconds, to: &prefix)
        }
        out.append(contentsOf: prefix)
        RecordingCoding.appendTimestampMilliseconds(milliseconds, to: &out)
    }
}

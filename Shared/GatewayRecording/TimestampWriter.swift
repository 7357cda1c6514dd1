import Foundation

/// Writes `YYYY-MM-DDTHH:MM:SS.mmmZ` like `RecordingCoding.appendTimestamp`, keeping the text
/// up to the seconds from the last call: a recorder writes many events within one second,
/// and only the milliseconds change (no calendar conversion per event).
struct TimestampWriter {
    private var second = Int.min
    /// `YYYY-MM-DDTHH:MM:SS.` of `second`.
    private var prefix: [UInt8] = []

    mutating func append(_ date: Date, to out: inout [UInt8]) {
        let interval = date.timeIntervalSince1970
        let whole = interval.rounded(.down)
        guard whole == Double(second) else {
            var fresh: [UInt8] = []
            RecordingCoding.appendTimestamp(date, to: &fresh)
            out.append(contentsOf: fresh)
            second = Int(whole)
            prefix = Array(fresh.dropLast(4))
            return
        }
        out.append(contentsOf: prefix)
        let milliseconds = min(999, max(0, Int(((interval - whole) * 1000).rounded(.down))))
        out.append(UInt8(ascii: "0") + UInt8(milliseconds / 100))
        out.append(UInt8(ascii: "0") + UInt8(milliseconds / 10 % 10))
        out.append(UInt8(ascii: "0") + UInt8(milliseconds % 10))
        out.append(UInt8(ascii: "Z"))
    }
}

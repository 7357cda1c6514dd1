import Foundation

/// JSON and time formats of recordings: sorted keys, ISO-8601 times with milliseconds.
enum RecordingCoding {
    static func encoder() -> JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        encoder.dateEncodingStrategy = .custom { date, encoder in
            var container = encoder.singleValueContainer()
            try container.encode(timestamp(date))
        }
        return encoder
    }

    static func decoder() -> JSONDecoder {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .custom { decoder in
            let text = try decoder.singleValueContainer().decode(String.self)
            guard let date = parse(text) else {
                throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "bad time \(text)"))
            }
            return date
        }
        return decoder
    }

    /// `2026-11-29T10:15:32.120Z`, formatted by hand: ISO8601DateFormatter costs tens of
    /// microseconds in ICU, and this runs for every recorded event.
    static func timestamp(_ date: Date) -> String {
        var bytes: [UInt8] = []
        appendTimestamp(date, to: &bytes)
        return String(decoding: bytes, as: UTF8.self)
    }

    /// `YYYY-MM-DDTHH:MM:SS.mmmZ`, digits written straight into `out` (every recorded statement has one).
    static func appendTimestamp(_ date: Date, to out: inout [UInt8]) {
        let (seconds, milliseconds) = timestampParts(date)
        appendTimestampSeconds(seconds, to: &out)
        appendTimestampMilliseconds(milliseconds, to: &out)
    }

    /// Whole seconds since 1970 and the milliseconds into that second.
    static func timestampParts(_ date: Date) -> (seconds: Int, milliseconds: Int) {
        let interval = date.timeIntervalSince1970
        let seconds = interval.rounded(.down)
        return (Int(seconds), min(999, max(0, Int(((interval - seconds) * 1000).rounded(.down)))))
    }

    /// `YYYY-MM-DDTHH:MM:SS.` of a second since 1970.
    static func appendTimestampSeconds(_ seconds: Int, to out: inout [UInt8]) {
        var time = time_t(seconds)
        var parts = tm()
        gmtime_r(&time, &parts)
        appendDigits(Int(parts.tm_year) + 1900, 4, to: &out)
        out.append(UInt8(ascii: "-"))
        appendDigits(Int(parts.tm_mon) + 1, 2, to: &out)
        out.append(UInt8(ascii: "-"))
        appendDigits(Int(parts.tm_mday), 2, to: &out)
        out.append(UInt8(ascii: "T"))
        appendDigits(Int(parts.tm_hour), 2, to: &out)
        out.append(UInt8(ascii: ":"))
        appendDigits(Int(parts.tm_min), 2, to: &out)
        out.append(UInt8(ascii: ":"))
        appendDigits(Int(parts.tm_sec), 2, to: &out)
        out.append(UInt8(ascii: "."))
    }

    /// `mmmZ`.
    static func appendTimestampMilliseconds(_ milliseconds: Int, to out: inout [UInt8]) {
        appendDigits(milliseconds, 3, to: &out)
        out.append(UInt8(ascii: "Z"))
    }

    /// `value` in exactly `width` decimal digits (zero-padded).
    private static func appendDigits(_ value: Int, _ width: Int, to out: inout [UInt8]) {
        var divisor = 1
        for _ in 1..<width { divisor *= 10 }
        var rest = max(0, value)
        while divisor > 0 {
            out.append(UInt8(ascii: "0") + UInt8(rest / divisor % 10))
            rest %= divisor
            divisor /= 10
        }
    }

    static func parse(_ text: String) -> Date? {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        if let date = formatter.date(from: text) { return date }
        formatter.formatOptions = [.withInternetDateTime]
        return formatter.date(from: text)
    }
}

/// Sensitive values in forms a client can turn back into them: base64 and hex runs (bytea's
/// `\x...` output, `xxd -p`, `encode(..., 'hex')`), text reversed (`reverse()`, `rev`), and
/// text with characters inserted that a reader or a terminal drops: terminal escape
/// sequences, zero-width and soft-hyphen characters, `(at)`, `[at]`, ` at `, `(dot)`,
/// `[dot]`, ` dot `. Each form is decoded and scanned by the same detectors; a match masks
/// what encodes it in the original bytes (the base64 or hex characters of the value's bytes,
/// the whole span of the other forms).
///
/// Only looked for where a trigger is present (a long enough run of the alphabet, an `@`,
/// an escape byte, an `at`/`dot` spelling, a zero-width character), so ordinary values pay a
/// single pass.
enum DecodedForms {
    /// A run shorter than this decodes to fewer bytes than any detector matches.
    static let minimumRun = 12

    static func matches(in buffer: UnsafeBufferPointer<UInt8>, scan: (UnsafeBufferPointer<UInt8>) -> [EntityScanner.Match]) -> [EntityScanner.Match] {
        guard buffer.count >= 8 else { return [] }
        var found: [EntityScanner.Match] = []
        found += encodedRuns(in: buffer, scan: scan)
        found += reversed(buffer, scan: scan)
        found += withInsertionsRemoved(buffer, scan: scan)
        return found
    }

    // MARK: - base64 and hex

    static func isBase64(_ byte: UInt8) -> Bool {
        ByteClass.isAlnum(byte) || byte == UInt8(ascii: "+") || byte == UInt8(ascii: "/") || byte == UInt8(ascii: "-") || byte == UInt8(ascii: "_")
    }

    static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
        default: nil
        }
    }

    /// Runs of base64 (line breaks inside allowed, `=` padding at the end) and of hex digits
    /// (single spaces between groups allowed, as `xxd` prints them).
    static func encodedRuns(in buffer: UnsafeBufferPointer<UInt8>, scan: (UnsafeBufferPointer<UInt8>) -> [EntityScanner.Match]) -> [EntityScanner.Match] {
        var found: [EntityScanner.Match] = []
        var index = 0
        let count = buffer.count
        while index < count {
            guard isBase64(buffer[index]) else { index += 1; continue }
            let start = index
            var end = index
            var alphabet = 0
            while end < count {
                let byte = buffer[end]
                if isBase64(byte) {
                    alphabet += 1
                    end += 1
                } else if (byte == 0x0A || byte == 0x0D), end + 1 < count, isBase64(buffer[end + 1]) {
                    end += 1
                } else {
                    break
                }
            }
            var padded = end
            while padded < count, buffer[padded] == UInt8(ascii: "="), padded - end < 2 { padded += 1 }
            if alphabet >= minimumRun {
                let run = UnsafeBufferPointer(rebasing: buffer[start..<end])
                let decoded = base64(run)?.withUnsafeBufferPointer { scan($0) } ?? []
                if !decoded.isEmpty {
                    found += encodedSpans(of: decoded, in: buffer, run: start..<end, padded: padded, charsPerQuantum: 4, bytesPerQuantum: 3)
                } else {
                    // Hex, also after bytea's `\x` or a `0x` prefix.
                    var digits = start
                    if buffer[digits] == UInt8(ascii: "0"), digits + 1 < end, buffer[digits + 1] | 0x20 == UInt8(ascii: "x") { digits += 2 }
                    else if buffer[digits] | 0x20 == UInt8(ascii: "x") { digits += 1 }
                    let hexDecoded = hex(UnsafeBufferPointer(rebasing: buffer[digits..<end]))?.withUnsafeBufferPointer { scan($0) } ?? []
                    found += encodedSpans(of: hexDecoded, in: buffer, run: digits..<end, padded: end, charsPerQuantum: 2, bytesPerQuantum: 1)
                }
            }
            index = max(padded, index + 1)
        }
        // Hex printed in groups (`6a61 6e65 4065`): the groups joined.
        found += spacedHex(in: buffer, scan: scan)
        return found
    }

    static func spacedHex(in buffer: UnsafeBufferPointer<UInt8>, scan: (UnsafeBufferPointer<UInt8>) -> [EntityScanner.Match]) -> [EntityScanner.Match] {
        var found: [EntityScanner.Match] = []
        var index = 0
        let count = buffer.count
        while index < count {
            guard hexValue(buffer[index]) != nil else { index += 1; continue }
            let start = index
            var digits: [UInt8] = []
            var end = index
            var groups = 0
            while end < count {
                if hexValue(buffer[end]) != nil {
                    digits.append(buffer[end])
                    end += 1
                } else if buffer[end] == 0x20, end + 1 < count, hexValue(buffer[end + 1]) != nil {
                    groups += 1
                    end += 1
                } else {
                    break
                }
            }
            if groups > 0, digits.count >= minimumRun, let match = digits.withUnsafeBufferPointer(hex)?.withUnsafeBufferPointer({ scan($0).first }) {
                found.append(EntityScanner.Match(range: start..<end, replacement: match.replacement))
            }
            index = max(end, index + 1)
        }
        return found
    }

    /// Where values found in a decoded run lie in the encoded text: each decoded match's
    /// bytes back to the characters that encode them (whole quanta: 4 characters for 3 bytes
    /// of base64, 2 for 1 of hex; line breaks skipped), so the value is masked and the rest of
    /// a long run (a file printed as base64) passes unaltered. A match that reaches the run's
    /// end takes its padding.
    static func encodedSpans(
        of decoded: [EntityScanner.Match], in buffer: UnsafeBufferPointer<UInt8>, run: Range<Int>, padded: Int, charsPerQuantum: Int, bytesPerQuantum: Int
    ) -> [EntityScanner.Match] {
        guard !decoded.isEmpty else { return [] }
        let positions = run.filter { buffer[$0] != 0x0A && buffer[$0] != 0x0D }
        return decoded.compactMap { match in
            let first = match.range.lowerBound / bytesPerQuantum * charsPerQuantum
            let last = min(positions.count, (match.range.upperBound + bytesPerQuantum - 1) / bytesPerQuantum * charsPerQuantum)
            guard first < last else { return nil }
            let upper = last == positions.count ? max(padded, positions[last - 1] + 1) : positions[last - 1] + 1
            return EntityScanner.Match(range: positions[first]..<upper, replacement: match.replacement)
        }
    }

    static func base64(_ run: UnsafeBufferPointer<UInt8>) -> [UInt8]? {
        var output: [UInt8] = []
        output.reserveCapacity(run.count * 3 / 4)
        var accumulator: UInt32 = 0
        var bits = 0
        for byte in run {
            let value: UInt32
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"): value = UInt32(byte - UInt8(ascii: "A"))
            case UInt8(ascii: "a")...UInt8(ascii: "z"): value = UInt32(byte - UInt8(ascii: "a") + 26)
            case UInt8(ascii: "0")...UInt8(ascii: "9"): value = UInt32(byte - UInt8(ascii: "0") + 52)
            case UInt8(ascii: "+"), UInt8(ascii: "-"): value = 62
            case UInt8(ascii: "/"), UInt8(ascii: "_"): value = 63
            case 0x0A, 0x0D: continue
            default: return nil
            }
            accumulator = accumulator << 6 | value
            bits += 6
            if bits >= 8 {
                bits -= 8
                output.append(UInt8(truncatingIfNeeded: accumulator >> UInt32(bits)))
            }
        }
        return output
    }

    static func hex(_ run: UnsafeBufferPointer<UInt8>) -> [UInt8]? {
        var digits = run.filter { $0 != 0x0A && $0 != 0x0D }
        if digits.count % 2 == 1 { digits.removeLast() }
        var output: [UInt8] = []
        output.reserveCapacity(digits.count / 2)
        var index = 0
        while index + 1 < digits.count {
            guard let high = hexValue(digits[index]), let low = hexValue(digits[index + 1]) else { return nil }
            output.append(high << 4 | low)
            index += 2
        }
        return output
    }

    // MARK: - reversed text

    static func reversed(_ buffer: UnsafeBufferPointer<UInt8>, scan: (UnsafeBufferPointer<UInt8>) -> [EntityScanner.Match]) -> [EntityScanner.Match] {
        guard buffer.contains(UInt8(ascii: "@")) else { return [] }
        let backwards = Array(buffer.reversed())
        return backwards.withUnsafeBufferPointer { reversed in
            scan(reversed).map { match in
                EntityScanner.Match(range: (buffer.count - match.range.upperBound)..<(buffer.count - match.range.lowerBound), replacement: match.replacement)
            }
        }
    }

    // MARK: - insertions

    /// Spellings that stand for `@` and `.` in text meant to slip past a detector.
    static let atSpellings: [[UInt8]] = ["(at)", "[at]", "{at}", " at ", " (at) ", " [at] "].map { Array($0.utf8) }
    static let dotSpellings: [[UInt8]] = ["(dot)", "[dot]", "{dot}", " dot ", " (dot) ", " [dot] "].map { Array($0.utf8) }

    static func withInsertionsRemoved(_ buffer: UnsafeBufferPointer<UInt8>, scan: (UnsafeBufferPointer<UInt8>) -> [EntityScanner.Match]) -> [EntityScanner.Match] {
        guard buffer.contains(0x1B) || buffer.contains(0xE2) || buffer.contains(0xC2) || containsSpelling(buffer) else { return [] }
        // The normalized text, and for each of its bytes the original byte it came from.
        var normalized: [UInt8] = []
        var origins: [Int] = []
        normalized.reserveCapacity(buffer.count)
        origins.reserveCapacity(buffer.count)
        var index = 0
        let count = buffer.count
        outer: while index < count {
            let byte = buffer[index]
            if byte == 0x1B {
                index = EntityScanner.endOfEscape(buffer, at: index)
                continue
            }
            // U+200B..U+200D zero-width, U+2060 word joiner: E2 80 8B..8D, E2 81 A0; U+00AD soft hyphen: C2 AD.
            if byte == 0xE2, index + 2 < count, buffer[index + 1] == 0x80, (0x8B...0x8D).contains(buffer[index + 2]) { index += 3; continue }
            if byte == 0xE2, index + 2 < count, buffer[index + 1] == 0x81, buffer[index + 2] == 0xA0 { index += 3; continue }
            if byte == 0xC2, index + 1 < count, buffer[index + 1] == 0xAD { index += 2; continue }
            for (spellings, replacement) in [(atSpellings, UInt8(ascii: "@")), (dotSpellings, UInt8(ascii: "."))] {
                for spelling in spellings where starts(buffer, at: index, with: spelling) {
                    normalized.append(replacement)
                    origins.append(index)
                    index += spelling.count
                    continue outer
                }
            }
            normalized.append(byte)
            origins.append(index)
            index += 1
        }
        guard normalized.count < count else { return [] }
        return normalized.withUnsafeBufferPointer { text in
            scan(text).compactMap { match in
                guard match.range.lowerBound < origins.count, match.range.upperBound - 1 < origins.count else { return nil }
                let start = origins[match.range.lowerBound]
                let last = origins[match.range.upperBound - 1]
                // Through the end of what the last byte stood for.
                var end = last + 1
                for spelling in atSpellings + dotSpellings where starts(buffer, at: last, with: spelling) { end = last + spelling.count; break }
                return EntityScanner.Match(range: start..<end, replacement: match.replacement)
            }
        }
    }

    static func containsSpelling(_ buffer: UnsafeBufferPointer<UInt8>) -> Bool {
        var index = 0
        while index < buffer.count {
            let byte = buffer[index]
            if byte == UInt8(ascii: "(") || byte == UInt8(ascii: "[") || byte == UInt8(ascii: "{") || byte == 0x20 {
                for spelling in atSpellings + dotSpellings where starts(buffer, at: index, with: spelling) { return true }
            }
            index += 1
        }
        return false
    }

    static func starts(_ buffer: UnsafeBufferPointer<UInt8>, at index: Int, with word: [UInt8]) -> Bool {
        guard index + word.count <= buffer.count else { return false }
        for offset in 0..<word.count where buffer[index + offset] | 0x20 != word[offset] | 0x20 { return false }
        return true
    }
}

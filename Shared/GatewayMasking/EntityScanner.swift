/// Finds built-in entities in a byte buffer. Every detector is hand-written: a
/// dispatch on the first byte of a token, then a bounded forward scan, with no
/// allocation and no backtracking beyond a detector's own maximum length.
struct EntityScanner: Sendable {
    struct Match: Sendable, Hashable {
        var range: Range<Int>
        /// Index into the engine's placeholder table.
        var replacement: Int
    }

    let email: Bool
    let creditCard: Bool
    let ssn: Bool
    let phone: Bool
    let iban: Bool
    let ip: Bool
    let aws: Bool
    let jwt: Bool

    init(_ entities: Set<MaskingEntity>) {
        email = entities.contains(.email)
        creditCard = entities.contains(.creditCard)
        ssn = entities.contains(.usSSN)
        phone = entities.contains(.phone)
        iban = entities.contains(.iban)
        ip = entities.contains(.ipAddress)
        aws = entities.contains(.awsAccessKey)
        jwt = entities.contains(.jwt)
    }

    var isEmpty: Bool { !(email || creditCard || ssn || phone || iban || ip || aws || jwt) }

    /// Appends non-overlapping matches in `buffer`, in order. `previous` is the byte before
    /// the buffer (left context for word boundaries), if any.
    func scan(_ buffer: UnsafeBufferPointer<UInt8>, previous: UInt8?, into matches: inout [Match]) {
        let n = buffer.count
        var i = 0
        var prev: UInt8 = previous ?? 0x20
        var lastEnd = 0
        while i < n {
            let b = buffer[i]
            if b == 0x1B {
                // A terminal control sequence is a boundary, never part of a value.
                i = Self.endOfEscape(buffer, at: i)
                lastEnd = i
                prev = 0x20
                continue
            }
            var found: (end: Int, entity: MaskingEntity)?
            if ByteClass.isDigit(b) {
                if !ByteClass.isDigit(prev) && !(prev == UInt8(ascii: ".") && i >= 2 && ByteClass.isDigit(buffer[i - 2])) {
                    found = digitToken(buffer, at: i)
                }
            } else if b == UInt8(ascii: "@") {
                if email, let (start, end) = Self.email(buffer, at: i, notBefore: lastEnd) {
                    matches.append(Match(range: start..<end, replacement: MaskingEntity.email.index))
                    lastEnd = end
                    prev = buffer[end - 1]
                    i = end
                    continue
                }
            } else if ByteClass.isAlpha(b) {
                if !ByteClass.isAlnum(prev) {
                    found = letterToken(buffer, at: i, previous: prev)
                }
            } else if b == UInt8(ascii: "+") || b == UInt8(ascii: "(") {
                if phone, !ByteClass.isAlnum(prev), let end = Self.phone(buffer, at: i) { found = (end, .phone) }
            } else if b == UInt8(ascii: ":") {
                if ip, !ByteClass.isHex(prev), prev != UInt8(ascii: ":"), let end = Self.ipv6(buffer, at: i) { found = (end, .ipAddress) }
            }
            if let found {
                matches.append(Match(range: i..<found.end, replacement: found.entity.index))
                lastEnd = found.end
                prev = buffer[found.end - 1]
                i = found.end
                continue
            }
            prev = b
            i += 1
        }
    }

    @inline(__always)
    private func digitToken(_ buffer: UnsafeBufferPointer<UInt8>, at i: Int) -> (end: Int, entity: MaskingEntity)? {
        if ssn, let end = Self.ssn(buffer, at: i) { return (end, .usSSN) }
        if ip, let end = Self.ipv4(buffer, at: i) { return (end, .ipAddress) }
        if creditCard, let end = Self.creditCard(buffer, at: i) { return (end, .creditCard) }
        if phone, let end = Self.phone(buffer, at: i) { return (end, .phone) }
        if ip, let end = Self.ipv6(buffer, at: i) { return (end, .ipAddress) }
        return nil
    }

    @inline(__always)
    private func letterToken(_ buffer: UnsafeBufferPointer<UInt8>, at i: Int, previous: UInt8) -> (end: Int, entity: MaskingEntity)? {
        let b = buffer[i]
        if b == UInt8(ascii: "e") {
            if jwt, previous != UInt8(ascii: "-"), previous != UInt8(ascii: "_"), let end = Self.jwt(buffer, at: i) { return (end, .jwt) }
        } else if ByteClass.isUpper(b) {
            if aws, b == UInt8(ascii: "A"), let end = Self.awsAccessKey(buffer, at: i) { return (end, .awsAccessKey) }
            if iban, let end = Self.iban(buffer, at: i) { return (end, .iban) }
        }
        if ip, ByteClass.isHex(b), let end = Self.ipv6(buffer, at: i) { return (end, .ipAddress) }
        return nil
    }

    /// The end of an escape sequence starting at `i` (ESC): CSI `ESC [ params final`, or ESC and one byte.
    static func endOfEscape(_ buffer: UnsafeBufferPointer<UInt8>, at i: Int) -> Int {
        let n = buffer.count
        var j = i + 1
        guard j < n else { return j }
        if buffer[j] == UInt8(ascii: "[") {
            j += 1
            while j < n, buffer[j] >= 0x20, buffer[j] <= 0x3F { j += 1 }
            if j < n, buffer[j] >= 0x40, buffer[j] <= 0x7E { j += 1 }
            return j
        }
        return j + 1 <= n ? j + 1 : n
    }

    // MARK: - Detectors. Each returns the end offset of a match starting at `i`.

    /// `local@domain.tld`, found from the `@`: the local part is scanned backwards.
    static func email(_ buffer: UnsafeBufferPointer<UInt8>, at: Int, notBefore: Int) -> (Int, Int)? {
        var start = at
        while start > notBefore, at - start < 64, ByteClass.isEmailLocal(buffer[start - 1]) { start -= 1 }
        while start < at, buffer[start] == UInt8(ascii: ".") { start += 1 }
        guard start < at else { return nil }
        let n = buffer.count
        var end = at + 1
        while end < n, end - at <= 253, ByteClass.isDomain(buffer[end]) { end += 1 }
        // Trailing dots and hyphens end a sentence, not a domain.
        while end > at + 1, buffer[end - 1] == UInt8(ascii: ".") || buffer[end - 1] == UInt8(ascii: "-") { end -= 1 }
        guard end > at + 1, ByteClass.isAlnum(buffer[at + 1]) else { return nil }
        // The last label is the TLD: two or more letters.
        var dot = end - 1
        while dot > at, buffer[dot] != UInt8(ascii: ".") { dot -= 1 }
        guard dot > at + 1, end - dot - 1 >= 2 else { return nil }
        for k in (dot + 1)..<end where !ByteClass.isAlpha(buffer[k]) { return nil }
        return (start, end)
    }

    /// `AAA-GG-SSSS` with the SSA's impossible values excluded.
    static func ssn(_ buffer: UnsafeBufferPointer<UInt8>, at i: Int) -> Int? {
        let n = buffer.count
        guard i + 11 <= n else { return nil }
        guard ByteClass.isDigit(buffer[i + 1]), ByteClass.isDigit(buffer[i + 2]), ByteClass.isDigit(buffer[i + 4]),
              ByteClass.isDigit(buffer[i + 5]), ByteClass.isDigit(buffer[i + 7]), ByteClass.isDigit(buffer[i + 8]),
              ByteClass.isDigit(buffer[i + 9]), ByteClass.isDigit(buffer[i + 10]) else { return nil }
        guard buffer[i + 3] == UInt8(ascii: "-"), buffer[i + 6] == UInt8(ascii: "-") else { return nil }
        if i + 11 < n, ByteClass.isDigit(buffer[i + 11]) || (buffer[i + 11] == UInt8(ascii: "-") && i + 12 < n && ByteClass.isDigit(buffer[i + 12])) {
            return nil
        }
        let area = Int(buffer[i] &- 48) * 100 + Int(buffer[i + 1] &- 48) * 10 + Int(buffer[i + 2] &- 48)
        let group = Int(buffer[i + 4] &- 48) * 10 + Int(buffer[i + 5] &- 48)
        let serial = Int(buffer[i + 7] &- 48) * 1000 + Int(buffer[i + 8] &- 48) * 100 + Int(buffer[i + 9] &- 48) * 10 + Int(buffer[i + 10] &- 48)
        guard area != 0, area != 666, area < 900, group != 0, serial != 0 else { return nil }
        return i + 11
    }

    /// 13–19 digits, optionally grouped by single spaces or hyphens, passing the Luhn check.
    static func creditCard(_ buffer: UnsafeBufferPointer<UInt8>, at i: Int) -> Int? {
        let n = buffer.count
        var digits = 0
        var sum = 0
        var values: (UInt64, Int) = (0, 0)  // packed digits, count — Luhn needs them right to left
        var j = i
        var end = i
        var separator: UInt8 = 0
        while j < n {
            let c = buffer[j]
            if ByteClass.isDigit(c) {
                digits += 1
                if digits > 19 { return nil }
                values.0 = values.0 &* 10 &+ UInt64(c &- 48)
                values.1 += 1
                j += 1
                end = j
            } else if (c == UInt8(ascii: " ") || c == UInt8(ascii: "-")), j + 1 < n, ByteClass.isDigit(buffer[j + 1]), j > i {
                if separator != 0 && c != separator { break }
                separator = c
                j += 1
            } else {
                break
            }
        }
        guard digits >= 13 else { return nil }
        if end < n, ByteClass.isAlnum(buffer[end]) { return nil }
        var number = values.0
        var position = 0
        while number > 0 || position < digits {
            var d = Int(number % 10)
            number /= 10
            if position % 2 == 1 {
                d *= 2
                if d > 9 { d -= 9 }
            }
            sum += d
            position += 1
        }
        guard sum % 10 == 0 else { return nil }
        return end
    }

    /// Dotted-quad IPv4 with octets up to 255.
    static func ipv4(_ buffer: UnsafeBufferPointer<UInt8>, at i: Int) -> Int? {
        let n = buffer.count
        var j = i
        for octet in 0..<4 {
            var value = 0
            var count = 0
            while j < n, count < 3, ByteClass.isDigit(buffer[j]) {
                value = value * 10 + Int(buffer[j] &- 48)
                count += 1
                j += 1
            }
            guard count > 0, value <= 255 else { return nil }
            if octet < 3 {
                guard j < n, buffer[j] == UInt8(ascii: ".") else { return nil }
                j += 1
            }
        }
        if j < n, ByteClass.isAlnum(buffer[j]) { return nil }
        if j + 1 < n, buffer[j] == UInt8(ascii: "."), ByteClass.isDigit(buffer[j + 1]) { return nil }
        return j
    }

    /// IPv6: eight hex groups, or fewer with one `::` and at least four hex digits in all.
    static func ipv6(_ buffer: UnsafeBufferPointer<UInt8>, at i: Int) -> Int? {
        let n = buffer.count
        var j = i
        var groups = 0
        var hexDigits = 0
        var compressed = false
        var end = i
        while j < n, groups < 8 {
            if buffer[j] == UInt8(ascii: ":") {
                if j + 1 < n, buffer[j + 1] == UInt8(ascii: ":") {
                    if compressed { break }
                    compressed = true
                    j += 2
                    end = j
                    continue
                }
                guard groups > 0, j + 1 < n, ByteClass.isHex(buffer[j + 1]) else { break }
                j += 1
                continue
            }
            var count = 0
            while j < n, count < 5, ByteClass.isHex(buffer[j]) {
                count += 1
                j += 1
            }
            guard count > 0, count <= 4 else { return nil }
            groups += 1
            hexDigits += count
            end = j
            guard j < n, buffer[j] == UInt8(ascii: ":") else { break }
        }
        guard groups == 8 || (compressed && groups >= 2 && hexDigits >= 4) else { return nil }
        if end < n, ByteClass.isAlnum(buffer[end]) || buffer[end] == UInt8(ascii: ".") && end + 1 < n && ByteClass.isDigit(buffer[end + 1]) {
            return nil
        }
        return end
    }

    /// `+CC …` international numbers (8–15 digits) and North-American forms:
    /// `(555) 123-4567`, `555-123-4567`, `555.123.4567`, `555 123 4567`, `1-555-123-4567`.
    static func phone(_ buffer: UnsafeBufferPointer<UInt8>, at i: Int) -> Int? {
        let n = buffer.count
        if buffer[i] == UInt8(ascii: "+") {
            var j = i + 1
            var digits = 0
            var end = i
            while j < n {
                let c = buffer[j]
                if ByteClass.isDigit(c) {
                    digits += 1
                    j += 1
                    end = j
                } else if isPhoneSeparator(c), digits > 0 {
                    // Up to two separators in a row: "1 (415) 555-2671".
                    var k = j + 1
                    if k < n, isPhoneSeparator(buffer[k]), buffer[k] != c || c == UInt8(ascii: ")") { k += 1 }
                    guard k < n, ByteClass.isDigit(buffer[k]) || buffer[k] == UInt8(ascii: "(") else { break }
                    j = k
                } else {
                    break
                }
                if digits > 15 { return nil }
            }
            guard digits >= 8, i + 1 < n, ByteClass.isDigit(buffer[i + 1]) else { return nil }
            if end < n, ByteClass.isAlnum(buffer[end]) { return nil }
            return end
        }
        let j = i
        // Optional leading country code 1 and separator.
        if buffer[j] == UInt8(ascii: "1"), j + 1 < n, buffer[j + 1] == UInt8(ascii: "-") || buffer[j + 1] == UInt8(ascii: " ") {
            if let end = northAmerican(buffer, at: j + 2) { return end }
        }
        return northAmerican(buffer, at: j)
    }

    @inline(__always) private static func isPhoneSeparator(_ c: UInt8) -> Bool {
        c == UInt8(ascii: " ") || c == UInt8(ascii: "-") || c == UInt8(ascii: ".") || c == UInt8(ascii: "(") || c == UInt8(ascii: ")")
    }

    private static func northAmerican(_ buffer: UnsafeBufferPointer<UInt8>, at start: Int) -> Int? {
        let n = buffer.count
        var j = start
        func digits(_ count: Int) -> Bool {
            guard j + count <= n else { return false }
            for k in 0..<count where !ByteClass.isDigit(buffer[j + k]) { return false }
            j += count
            return true
        }
        var separator: UInt8 = 0
        if j < n, buffer[j] == UInt8(ascii: "(") {
            j += 1
            guard digits(3), j < n, buffer[j] == UInt8(ascii: ")") else { return nil }
            j += 1
            if j < n, buffer[j] == UInt8(ascii: " ") { j += 1 }
            guard digits(3), j < n, buffer[j] == UInt8(ascii: "-") || buffer[j] == UInt8(ascii: ".") || buffer[j] == UInt8(ascii: " ") else { return nil }
            j += 1
        } else {
            guard digits(3), j < n else { return nil }
            separator = buffer[j]
            guard separator == UInt8(ascii: "-") || separator == UInt8(ascii: ".") || separator == UInt8(ascii: " ") else { return nil }
            j += 1
            guard digits(3), j < n, buffer[j] == separator else { return nil }
            j += 1
        }
        guard digits(4) else { return nil }
        if j < n, ByteClass.isAlnum(buffer[j]) { return nil }
        if j + 1 < n, buffer[j] == separator || buffer[j] == UInt8(ascii: "-"), ByteClass.isDigit(buffer[j + 1]) { return nil }
        return j
    }

    /// Country code, check digits, 11–30 alphanumerics, optionally in groups of four;
    /// the ISO 13616 mod-97 check must give 1. The longest valid prefix at a group boundary wins.
    static func iban(_ buffer: UnsafeBufferPointer<UInt8>, at i: Int) -> Int? {
        let n = buffer.count
        guard i + 15 <= n, ByteClass.isUpper(buffer[i]), ByteClass.isUpper(buffer[i + 1]),
              ByteClass.isDigit(buffer[i + 2]), ByteClass.isDigit(buffer[i + 3]) else { return nil }
        // Collect up to 34 characters, remembering where each group ends.
        var chars: [UInt8] = []
        chars.reserveCapacity(34)
        var ends: [(count: Int, end: Int)] = []
        var j = i
        while j < n, chars.count < 34 {
            let c = buffer[j]
            if ByteClass.isUpperAlnum(c) {
                chars.append(c)
                j += 1
            } else if c == UInt8(ascii: " "), j + 1 < n, ByteClass.isUpperAlnum(buffer[j + 1]), chars.count >= 4 {
                ends.append((chars.count, j))
                j += 1
            } else {
                break
            }
        }
        if j < n, ByteClass.isAlnum(buffer[j]) {
            // The run continues past 34 characters, or into lower case: not an IBAN as a whole.
            if chars.count == 34 || ends.isEmpty { return nil }
        } else {
            ends.append((chars.count, j))
        }
        for candidate in ends.reversed() where candidate.count >= 15 {
            if mod97(chars, count: candidate.count) == 1 { return candidate.end }
        }
        return nil
    }

    private static func mod97(_ chars: [UInt8], count: Int) -> Int {
        var remainder = 0
        func add(_ c: UInt8) {
            if ByteClass.isDigit(c) {
                remainder = (remainder * 10 + Int(c &- 48)) % 97
            } else {
                remainder = (remainder * 100 + Int(c &- 55)) % 97
            }
        }
        for k in 4..<count { add(chars[k]) }
        for k in 0..<4 { add(chars[k]) }
        return remainder
    }

    /// AWS access key ids: a known four-letter prefix and 16 upper-case alphanumerics.
    static func awsAccessKey(_ buffer: UnsafeBufferPointer<UInt8>, at i: Int) -> Int? {
        let n = buffer.count
        guard i + 20 <= n else { return nil }
        let prefix = (buffer[i + 1], buffer[i + 2], buffer[i + 3])
        let known: Bool
        switch prefix {
        case (UInt8(ascii: "K"), UInt8(ascii: "I"), UInt8(ascii: "A")), (UInt8(ascii: "S"), UInt8(ascii: "I"), UInt8(ascii: "A")),
             (UInt8(ascii: "B"), UInt8(ascii: "I"), UInt8(ascii: "A")), (UInt8(ascii: "C"), UInt8(ascii: "C"), UInt8(ascii: "A")),
             (UInt8(ascii: "G"), UInt8(ascii: "P"), UInt8(ascii: "A")), (UInt8(ascii: "I"), UInt8(ascii: "D"), UInt8(ascii: "A")),
             (UInt8(ascii: "R"), UInt8(ascii: "O"), UInt8(ascii: "A")), (UInt8(ascii: "I"), UInt8(ascii: "P"), UInt8(ascii: "A")),
             (UInt8(ascii: "N"), UInt8(ascii: "P"), UInt8(ascii: "A")), (UInt8(ascii: "N"), UInt8(ascii: "V"), UInt8(ascii: "A")),
             (UInt8(ascii: "P"), UInt8(ascii: "K"), UInt8(ascii: "A")):
            known = true
        default:
            known = false
        }
        guard known else { return nil }
        for k in 4..<20 where !ByteClass.isUpperAlnum(buffer[i + k]) { return nil }
        if i + 20 < n, ByteClass.isAlnum(buffer[i + 20]) { return nil }
        return i + 20
    }

    /// `eyJ…` header, `.`, payload, `.`, signature (base64url).
    static func jwt(_ buffer: UnsafeBufferPointer<UInt8>, at i: Int) -> Int? {
        let n = buffer.count
        guard i + 3 < n, buffer[i + 1] == UInt8(ascii: "y"), buffer[i + 2] == UInt8(ascii: "J") else { return nil }
        var j = i
        var segments = 1
        var segmentLength = 0
        while j < n, j - i < MaskingEngine.maximumMatchLength {
            let c = buffer[j]
            if ByteClass.isBase64URL(c) {
                segmentLength += 1
                j += 1
            } else if c == UInt8(ascii: "."), segments < 3, segmentLength >= 2 {
                segments += 1
                segmentLength = 0
                j += 1
            } else {
                break
            }
        }
        guard segments == 3 else { return nil }
        // An unsigned JWT ends with the second dot; a signed one with the signature.
        if j < n, ByteClass.isBase64URL(buffer[j]) || buffer[j] == UInt8(ascii: ".") { return nil }
        return j
    }
}

extension MaskingEntity {
    /// Stable position in the placeholder table.
    var index: Int { MaskingEntity.allCases.firstIndex(of: self) ?? 0 }
}

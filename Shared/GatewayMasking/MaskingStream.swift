/// Masks a byte stream that arrives in arbitrary chunks.
///
/// A match split across two chunks is still masked: the stream holds back the trailing
/// run of text that could still grow into a match (at most
/// `MaskingEngine.maximumMatchLength` bytes) and emits it with the next chunk. Memory is
/// bounded by that plus the chunk in hand.
///
/// Interactive relays call `flush()` when no more data arrived for a short while, so a
/// prompt or an echoed keystroke is never held back.
public struct MaskingStream: Sendable {
    let engine: MaskingEngine
    private var held: [UInt8] = []
    /// How many of `held`'s first bytes were sent already: the trailing token a pause flush
    /// sent because it looked like no value yet. It stays as context, so the rest of a value
    /// whose start went out before a pause is still found and masked.
    private var sent = 0
    private var previous: UInt8?
    /// A pause flush masked the start of what may be a sensitive value: the rest of that
    /// token, when it comes, is masked too (printing half a value, pausing, then the other
    /// half must not get it past the masker).
    private var continuingPartial: Partial?

    enum Partial: Sendable {
        /// Text (an address, a key): the rest of the token.
        case token
        /// Digits (a card, a phone number): the rest of the digit groups.
        case digits
    }
    public private(set) var hits = MaskingHits()

    init(engine: MaskingEngine) {
        self.engine = engine
    }

    /// Bytes held back, waiting for the next chunk.
    public var heldCount: Int { held.count - sent }

    /// Takes the masking hits counted since the last call.
    public mutating func takeHits() -> MaskingHits {
        defer { hits = MaskingHits() }
        return hits
    }

    /// Feeds a chunk; returns the bytes that are now safe to send.
    public mutating func process(_ chunk: UnsafeRawBufferPointer) -> [UInt8] {
        guard engine.scansValues else { return Array(chunk) }
        if let partial = continuingPartial {
            continuingPartial = nil
            let bytes = chunk.assumingMemoryBound(to: UInt8.self)
            let end = Self.continuationEnd(bytes, partial)
            if end > 0 {
                hits.record("PARTIAL")
                var rest = Array(MaskingPolicy.columnPlaceholder.utf8)
                rest += process(UnsafeRawBufferPointer(rebasing: chunk[end...]))
                return rest
            }
        }
        if held.isEmpty {
            return process(buffer: chunk.assumingMemoryBound(to: UInt8.self), alreadySent: 0)
        }
        var joined = held
        joined.append(contentsOf: chunk)
        held.removeAll(keepingCapacity: true)
        let alreadySent = sent
        sent = 0
        return joined.withUnsafeBufferPointer { process(buffer: $0, alreadySent: alreadySent) }
    }

    public mutating func process(_ chunk: [UInt8]) -> [UInt8] {
        chunk.withUnsafeBytes { process($0) }
    }

    /// Emits everything held back (masking what it holds); the stream stays usable.
    public mutating func flush() -> [UInt8] {
        guard held.count > sent else { return [] }
        let pending = held
        let alreadySent = sent
        held.removeAll(keepingCapacity: true)
        sent = 0
        var output: [UInt8] = []
        pending.withUnsafeBufferPointer { buffer in
            let matches = engine.findMatches(buffer, previous: previous)
            engine.apply(matches, to: buffer, from: alreadySent, upTo: buffer.count, into: &output, hits: &hits)
        }
        previous = pending.last
        return output
    }

    /// What an interactive relay calls when output paused: emits what is held, as `flush()`,
    /// except that a trailing start of what could be a sensitive value (an address before
    /// its domain is complete, six or more digits, a key or token prefix) is masked rather
    /// than sent, and the rest of that token is masked when it comes.
    public mutating func flushAfterPause() -> [UInt8] {
        guard held.count > sent else { return [] }
        let found = held.withUnsafeBufferPointer { Self.partialValueStart($0, entities: engine.policy.entities) }
        guard let (partial, kind) = found, partial >= sent else {
            // Nothing that looks like the start of a value: everything goes out, and the
            // trailing token is kept as context (`sent`), so that if it was the start of one
            // after all (an IBAN's first characters, a card's first digits), the rest of it
            // is masked when it comes.
            let start = held.withUnsafeBufferPointer { Self.holdStart($0) }
            let before = start > 0 ? held[start - 1] : previous
            let tail = Array(held[start...])
            let output = flush()
            held = tail
            sent = tail.count
            previous = before
            return output
        }
        let tail = Array(held[partial...])
        held.removeSubrange(partial...)
        var output = flush()
        output += Array(MaskingPolicy.columnPlaceholder.utf8)
        hits.record("PARTIAL")
        continuingPartial = kind
        previous = tail.last
        return output
    }

    /// The start of the trailing token of `buffer` when it could be the first part of a
    /// value a detector masks once complete; nil otherwise.
    static func partialValueStart(_ buffer: UnsafeBufferPointer<UInt8>, entities: Set<MaskingEntity>) -> (Int, Partial)? {
        var start = buffer.count
        while start > 0, ByteClass.isRun(buffer[start - 1]) || (buffer[start - 1] == 0x20 && start >= 2 && ByteClass.isDigit(buffer[start - 2])) { start -= 1 }
        while start < buffer.count, buffer[start] == 0x20 { start += 1 }
        guard start < buffer.count else { return nil }
        let token = UnsafeBufferPointer(rebasing: buffer[start...])
        if entities.contains(.email), let at = token.firstIndex(of: UInt8(ascii: "@")), at > 0 {
            return (start, .token)
        }
        let digits = token.filter(ByteClass.isDigit).count
        if digits >= 6, !entities.isDisjoint(with: [.creditCard, .phone, .usSSN, .iban]) { return (start, .digits) }
        if entities.contains(.awsAccessKey), Self.starts(token, with: "AKIA") || Self.starts(token, with: "ASIA") { return (start, .token) }
        if entities.contains(.jwt), Self.starts(token, with: "eyJ") { return (start, .token) }
        return nil
    }

    static func starts(_ token: UnsafeBufferPointer<UInt8>, with prefix: StaticString) -> Bool {
        let count = prefix.utf8CodeUnitCount
        guard token.count >= count else { return false }
        for index in 0..<count where token[index] != prefix.utf8Start[index] { return false }
        return true
    }

    /// The end of what continues a partial value at the start of a chunk: the rest of the
    /// token, or digits with the spaces and dashes between their groups.
    static func continuationEnd(_ bytes: UnsafeBufferPointer<UInt8>, _ partial: Partial) -> Int {
        var end = 0
        switch partial {
        case .token:
            while end < bytes.count, ByteClass.isRun(bytes[end]) { end += 1 }
        case .digits:
            while end < bytes.count, ByteClass.isDigit(bytes[end]) || bytes[end] == 0x20 || bytes[end] == UInt8(ascii: "-") { end += 1 }
            while end > 0, bytes[end - 1] == 0x20 { end -= 1 }
        }
        return end
    }

    /// End of stream: same as `flush()`.
    public mutating func finish() -> [UInt8] { flush() }

    /// `alreadySent`: the first bytes of `buffer` went out before (context only).
    private mutating func process(buffer: UnsafeBufferPointer<UInt8>, alreadySent: Int) -> [UInt8] {
        let n = buffer.count
        guard n > 0 else { return [] }
        var cut = Self.holdStart(buffer)
        let matches = engine.findMatches(buffer, previous: previous)
        for match in matches where match.range.lowerBound < cut && match.range.upperBound > cut {
            cut = match.range.upperBound
        }
        if cut < alreadySent {
            // Still one token with what was sent: keep it all as context, send nothing yet.
            held.append(contentsOf: UnsafeBufferPointer(rebasing: buffer[cut..<n]))
            sent = alreadySent - cut
            if cut > 0 { previous = buffer[cut - 1] }
            return []
        }
        var output: [UInt8] = []
        output.reserveCapacity(cut - alreadySent)
        engine.apply(matches.filter { $0.range.lowerBound < cut }, to: buffer, from: alreadySent, upTo: cut, into: &output, hits: &hits)
        if cut < n { held.append(contentsOf: UnsafeBufferPointer(rebasing: buffer[cut..<n])) }
        if cut > 0 { previous = buffer[cut - 1] }
        return output
    }

    /// Where the trailing text that might still grow into a match begins: the last run of
    /// non-whitespace, extended back over single spaces between digits or capitals (grouped card
    /// numbers, IBANs, phone numbers), at most `maximumMatchLength` bytes.
    static func holdStart(_ buffer: UnsafeBufferPointer<UInt8>) -> Int {
        let n = buffer.count
        var s = n
        while s > 0, n - s < MaskingEngine.maximumMatchLength {
            let c = buffer[s - 1]
            if ByteClass.isRun(c) || c == 0x1B {
                s -= 1
                continue
            }
            if c == UInt8(ascii: " "), s >= 2, isGroupChar(buffer[s - 2]) || buffer[s - 2] == UInt8(ascii: ")"),
               s == n || isGroupChar(buffer[s]) || buffer[s] == UInt8(ascii: "(") {
                s -= 1
                continue
            }
            break
        }
        return s
    }

    /// Characters of grouped numbers: digits and capitals (card numbers, IBANs, phones).
    @inline(__always) private static func isGroupChar(_ b: UInt8) -> Bool {
        ByteClass.isUpperAlnum(b)
    }
}

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
    private var previous: UInt8?
    public private(set) var hits = MaskingHits()

    init(engine: MaskingEngine) {
        self.engine = engine
    }

    /// Bytes held back, waiting for the next chunk.
    public var heldCount: Int { held.count }

    /// Takes the masking hits counted since the last call.
    public mutating func takeHits() -> MaskingHits {
        defer { hits = MaskingHits() }
        return hits
    }

    /// Feeds a chunk; returns the bytes that are now safe to send.
    public mutating func process(_ chunk: UnsafeRawBufferPointer) -> [UInt8] {
        guard engine.scansValues else { return Array(chunk) }
        if held.isEmpty {
            return process(buffer: chunk.assumingMemoryBound(to: UInt8.self))
        }
        var joined = held
        joined.append(contentsOf: chunk)
        held.removeAll(keepingCapacity: true)
        return joined.withUnsafeBufferPointer { process(buffer: $0) }
    }

    public mutating func process(_ chunk: [UInt8]) -> [UInt8] {
        chunk.withUnsafeBytes { process($0) }
    }

    /// Emits everything held back (masking what it holds); the stream stays usable.
    public mutating func flush() -> [UInt8] {
        guard !held.isEmpty else { return [] }
        let pending = held
        held.removeAll(keepingCapacity: true)
        var output: [UInt8] = []
        pending.withUnsafeBufferPointer { buffer in
            let matches = engine.findMatches(buffer, previous: previous)
            engine.apply(matches, to: buffer, upTo: buffer.count, into: &output, hits: &hits)
        }
        previous = pending.last
        return output
    }

    /// End of stream: same as `flush()`.
    public mutating func finish() -> [UInt8] { flush() }

    private mutating func process(buffer: UnsafeBufferPointer<UInt8>) -> [UInt8] {
        let n = buffer.count
        guard n > 0 else { return [] }
        var cut = Self.holdStart(buffer)
        let matches = engine.findMatches(buffer, previous: previous)
        for match in matches where match.range.lowerBound < cut && match.range.upperBound > cut {
            cut = match.range.upperBound
        }
        var output: [UInt8] = []
        output.reserveCapacity(cut)
        engine.apply(matches.filter { $0.range.lowerBound < cut }, to: buffer, upTo: cut, into: &output, hits: &hits)
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

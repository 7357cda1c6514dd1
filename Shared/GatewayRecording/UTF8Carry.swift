/// Holds back an incomplete UTF-8 sequence at the end of a chunk so that each asciicast
/// event carries whole characters; invalid bytes become U+FFFD.
struct UTF8Carry: Sendable {
    private var pending: [UInt8] = []

    /// No incomplete sequence is held back.
    var isEmpty: Bool { pending.isEmpty }

    mutating func decode(_ chunk: some Collection<UInt8>) -> String {
        var bytes = pending
        bytes.append(contentsOf: chunk)
        pending.removeAll()
        // Find where a trailing incomplete sequence starts (at most 3 bytes back).
        var cut = bytes.count
        var back = 0
        var i = bytes.count - 1
        while i >= 0, back < 4 {
            let b = bytes[i]
            if b & 0xC0 == 0x80 {
                back += 1
                i -= 1
                continue
            }
            let length = b >= 0xF0 ? 4 : b >= 0xE0 ? 3 : b >= 0xC0 ? 2 : 1
            if length > 1, length > back + 1 { cut = i }
            break
        }
        if cut < bytes.count {
            pending = Array(bytes[cut...])
            bytes.removeSubrange(cut...)
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    mutating func finish() -> String {
        defer { pending.removeAll() }
        return pending.isEmpty ? "" : String(decoding: pending, as: UTF8.self)
    }
}

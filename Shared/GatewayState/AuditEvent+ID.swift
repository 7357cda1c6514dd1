import Synchronization

extension AuditEvent {
    private static let processPrefix: String = {
        var generator = SystemRandomNumberGenerator()
        let value = UInt64.random(in: 0...UInt64.max, using: &generator)
        let hex = String(value, radix: 16)
        return String(repeating: "0", count: 16 - hex.count) + hex
    }()
    private static let counter = Atomic<UInt64>(0)

    /// A unique event id without a system random call per event (allowed statements make one
    /// event each): 64 random bits drawn once per process, then a counter.
    public static func newID() -> String {
        let next = counter.add(1, ordering: .relaxed).newValue
        let digits = max(1, (64 - next.leadingZeroBitCount + 3) / 4)
        // One allocation: the prefix, the dash and the counter's hex digits written in place.
        return String(unsafeUninitializedCapacity: 17 + digits) { buffer in
            var index = 0
            for byte in processPrefix.utf8 {
                buffer[index] = byte
                index += 1
            }
            buffer[index] = UInt8(ascii: "-")
            index += 1
            var shift = (digits - 1) * 4
            while shift >= 0 {
                buffer[index] = hexDigits[Int((next >> UInt64(shift)) & 0xF)]
                index += 1
                shift -= 4
            }
            return index
        }
    }

    private static let hexDigits: [UInt8] = Array("0123456789abcdef".utf8)
}

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
        return processPrefix + "-" + String(next, radix: 16)
    }
}

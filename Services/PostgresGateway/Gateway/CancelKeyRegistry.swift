import Synchronization

/// Maps the cancel keys the gateway hands to clients to the upstream's keys, so a client's
/// CancelRequest (Ctrl-C in psql) cancels the running upstream query. Process-local: a
/// cancel request reaching another gateway instance finds nothing and is ignored, as
/// PostgreSQL ignores unknown keys.
public final class CancelKeyRegistry: Sendable {
    public struct Target: Sendable {
        public var host: String
        public var port: Int
        public var processID: Int32
        public var secretKey: Int32
    }

    private let keys = Mutex<[Int64: Target]>([:])

    public init() {}

    /// A fresh key for a new session.
    public func register(_ target: Target) -> (processID: Int32, secretKey: Int32) {
        keys.withLock { keys in
            while true {
                let pid = Int32.random(in: 1...Int32.max)
                let secret = Int32.random(in: Int32.min...Int32.max)
                let key = Self.key(pid, secret)
                if keys[key] == nil {
                    keys[key] = target
                    return (pid, secret)
                }
            }
        }
    }

    public func target(processID: Int32, secretKey: Int32) -> Target? {
        keys.withLock { $0[Self.key(processID, secretKey)] }
    }

    public func remove(processID: Int32, secretKey: Int32) {
        _ = keys.withLock { $0.removeValue(forKey: Self.key(processID, secretKey)) }
    }

    private static func key(_ pid: Int32, _ secret: Int32) -> Int64 {
        Int64(pid) << 32 | Int64(UInt32(bitPattern: secret))
    }
}

/// How long a client has to authenticate, and how many may be connected without having done so
/// (`services.<kind>`: `handshake_timeout`, `max_unauthenticated`,
/// `max_unauthenticated_per_address`). A connection that has not authenticated holds a slot:
/// a client that opens thousands and never sends a token fills its own address's slots and
/// then the global ones, not the gateway's memory; everyone who authenticates is unaffected.
public struct HandshakeLimits: Sendable, Hashable {
    /// Seconds from accept to authenticated (PostgreSQL's `authentication_timeout` is 60 s,
    /// OpenSSH's `LoginGraceTime` 120 s; a gateway's clients are programs: 30 s).
    public var timeout: Double
    public var maximum: Int
    public var maximumPerAddress: Int

    public init(timeout: Double = 30, maximum: Int = 256, maximumPerAddress: Int = 32) {
        self.timeout = timeout
        self.maximum = maximum
        self.maximumPerAddress = maximumPerAddress
    }
}

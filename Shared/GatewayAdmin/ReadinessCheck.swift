/// One thing `/readyz` checks.
public struct ReadinessCheck: Sendable {
    public enum Outcome: Sendable, Equatable {
        case ok
        /// Serving, with something an operator should know (cached identity keys in use
        /// while the issuer is unreachable): reported, and `/readyz` stays 200.
        case degraded(String)
        /// Not ready: `/readyz` answers 503.
        case failing(String)
    }

    public var name: String
    public var evaluate: @Sendable () async -> Outcome

    public init(name: String, evaluate: @escaping @Sendable () async -> Outcome) {
        self.name = name
        self.evaluate = evaluate
    }

    /// A check that returns nil when fine, or what is wrong (failing).
    public init(name: String, check: @escaping @Sendable () async -> String?) {
        self.init(name: name) { await check().map(Outcome.failing) ?? .ok }
    }
}

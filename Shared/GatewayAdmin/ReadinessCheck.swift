/// One thing `/readyz` checks: returns nil when fine, or what is wrong.
public struct ReadinessCheck: Sendable {
    public var name: String
    public var check: @Sendable () async -> String?

    public init(name: String, check: @escaping @Sendable () async -> String?) {
        self.name = name
        self.check = check
    }
}

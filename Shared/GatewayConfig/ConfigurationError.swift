/// One problem in a configuration file: the key path (`connections[1].guardrails[0].pattern`) and why.
public struct ConfigurationError: Error, Sendable, Hashable, CustomStringConvertible {
    public var path: String
    public var reason: String

    public init(path: String, reason: String) {
        self.path = path
        self.reason = reason
    }

    public var description: String { path.isEmpty ? reason : "\(path): \(reason)" }
}

/// Every problem found in a file; loading collects them all before failing.
public struct ConfigurationErrors: Error, Sendable, CustomStringConvertible {
    public var errors: [ConfigurationError]
    public var file: String?

    public init(_ errors: [ConfigurationError], file: String? = nil) {
        self.errors = errors
        self.file = file
    }

    public var description: String {
        let header = file.map { "invalid configuration \($0):" } ?? "invalid configuration:"
        return ([header] + errors.map { "  \($0)" }).joined(separator: "\n")
    }
}

/// A rule that holds a command until reviewers approve it. The first matching rule holds.
public struct ApprovalRule: Sendable, Hashable {
    public enum Grant: Sendable, Hashable {
        /// This exact command, once.
        case once
        /// Commands matching the rule on this connection, by the same requester, for `seconds`.
        case window(seconds: Double)
    }

    public var name: String
    public var pattern: PatternMatcher?
    public var statement: StatementKind?
    public var command: CommandMatcher?
    /// Kubernetes API requests: a rule with one holds API requests only.
    public var api: APIRequestMatcher?
    public var reviewerGroups: [String]
    public var minApprovals: Int
    public var requireAllGroups: Bool
    /// Seconds a review may wait before it expires.
    public var timeout: Double
    public var grant: Grant

    public init(
        name: String, pattern: PatternMatcher? = nil, statement: StatementKind? = nil, command: CommandMatcher? = nil,
        api: APIRequestMatcher? = nil, reviewerGroups: [String], minApprovals: Int = 1, requireAllGroups: Bool = false,
        timeout: Double = 600, grant: Grant = .once
    ) {
        self.name = name
        self.pattern = pattern
        self.statement = statement
        self.command = command
        self.api = api
        self.reviewerGroups = reviewerGroups
        self.minApprovals = minApprovals
        self.requireAllGroups = requireAllGroups
        self.timeout = timeout
        self.grant = grant
    }
}

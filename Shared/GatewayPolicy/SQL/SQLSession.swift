/// What one SQL session has defined that later statements refer to: the findings of each
/// statement PREPAREd by name, so an EXECUTE is decided as the statement it runs.
///
/// A name keeps the union of every body ever prepared under it in the session. The
/// gateway cannot know which PREPARE the server accepted (a second PREPARE of a name fails
/// there and leaves the first), nor whether a DEALLOCATE ran, so it forgets nothing.
public struct SQLSession: Sendable, Hashable {
    public private(set) var prepared: [String: SQLFindings] = [:]

    public init() {}

    public func findings(ofPrepared name: String) -> SQLFindings? { prepared[name] }

    public mutating func prepare(_ name: String, _ findings: SQLFindings) {
        prepared[name, default: SQLFindings()].formUnion(findings)
    }
}

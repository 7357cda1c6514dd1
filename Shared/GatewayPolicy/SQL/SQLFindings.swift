/// What the parse tree of one statement says: the kinds it is, what in it no check can see
/// through, and settings it would change that the gateway must keep.
public struct SQLFindings: Sendable, Hashable {
    public var kinds: Set<StatementKind> = []
    /// Why the statement cannot be inspected (dynamic SQL, code that runs later, text the
    /// parser rejects); empty when it can.
    public var opaque: [String] = []
    /// Why the statement would leave the session one the gateway cannot parse
    /// (`standard_conforming_strings` off, an encoding whose characters hold a backslash byte).
    public var unsafeSettings: [String] = []
    /// `COPY ... TO STDOUT`: rows the column masker does not see as rows.
    public var copiesToClient = false
    /// A large object's contents are read (`lo_get`, `loread`): bytes no masker scans.
    public var readsLargeObjects = false
    /// The text of each statement found inside this one (a DO block's or function's body,
    /// a constant EXECUTE string, decoded): patterns are matched against these too, so
    /// `EXECUTE 'DR' || 'OP TABLE t'` meets a pattern written for `DROP TABLE`.
    public var innerStatements: [String] = []

    public init(kinds: Set<StatementKind> = [], opaque: [String] = [], unsafeSettings: [String] = []) {
        self.kinds = kinds
        self.opaque = opaque
        self.unsafeSettings = unsafeSettings
    }

    public mutating func formUnion(_ other: SQLFindings) {
        kinds.formUnion(other.kinds)
        for reason in other.opaque where !opaque.contains(reason) { opaque.append(reason) }
        for reason in other.unsafeSettings where !unsafeSettings.contains(reason) { unsafeSettings.append(reason) }
        copiesToClient = copiesToClient || other.copiesToClient
        readsLargeObjects = readsLargeObjects || other.readsLargeObjects
        innerStatements += other.innerStatements
    }
}

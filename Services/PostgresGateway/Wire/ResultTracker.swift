/// Follows a session's requests and responses so every DataRow is matched with the columns
/// (names and formats) it belongs to, and every result and error with the statement that
/// produced it, in simple and extended query mode, pipelined or not.
///
/// Pure: the relay feeds it client messages as they go upstream and server messages as they
/// come back.
public struct ResultTracker: Sendable {
    enum Expectation: Sendable, Equatable {
        /// A simple query (the statement running now and the string's statements after it), or
        /// a FunctionCall: each answered by ReadyForQuery.
        case simpleQuery(RunningStatement?, rest: ArraySlice<String>)
        case describeStatement(String)
        case describePortal(String)
        case execute(portal: String, statement: RunningStatement?)
        case sync

        /// Whether the server's ReadyForQuery answers it (the end of what an error skips).
        var endsAtReady: Bool {
            switch self {
            case .simpleQuery, .sync: true
            case .describeStatement, .describePortal, .execute: false
            }
        }
    }

    private var queue: [Expectation] = []
    private var head = 0
    private var statementColumns: [String: [ResultColumn]] = [:]
    private var portals: [String: (statement: String, formats: [Int16])] = [:]
    private var portalColumns: [String: [ResultColumn]] = [:]
    /// Columns of the result set being streamed now.
    public private(set) var current: [ResultColumn]?

    public init() {}

    // MARK: Client side

    /// A simple query string: `statement` is its first statement (or the whole string), `rest`
    /// the texts of those after it, each named in turn as the results come.
    public mutating func simpleQuery(_ statement: RunningStatement? = nil, then rest: ArraySlice<String> = []) {
        append(.simpleQuery(statement, rest: rest))
    }

    /// A FunctionCall (the fast-path interface large objects use): answered by
    /// FunctionCallResponse or ErrorResponse, then ReadyForQuery, as a one-statement query is.
    public mutating func functionCall(_ statement: RunningStatement? = nil) { append(.simpleQuery(statement, rest: [])) }

    public mutating func parse(statement: String) {
        statementColumns[statement] = nil
    }

    public mutating func bind(portal: String, statement: String, resultFormats: [Int16]) {
        portals[portal] = (statement, resultFormats)
        portalColumns[portal] = nil
    }

    public mutating func describe(kind: UInt8, name: String) {
        append(kind == UInt8(ascii: "S") ? .describeStatement(name) : .describePortal(name))
    }

    public mutating func execute(portal: String, statement: RunningStatement? = nil) {
        append(.execute(portal: portal, statement: statement))
    }

    public mutating func sync() { append(.sync) }

    // MARK: Server side

    public mutating func rowDescription(_ columns: [ResultColumn]) {
        switch peek() {
        case .describeStatement(let name)?:
            statementColumns[name] = columns
            pop()
        case .describePortal(let name)?:
            portalColumns[name] = columns
            pop()
        default:
            current = columns
        }
    }

    public mutating func noData() {
        if case .describeStatement? = peek() { pop() } else if case .describePortal? = peek() { pop() }
    }

    /// The text of the statement whose results are arriving now, when known.
    public var runningCommand: String? {
        guard head < queue.count else { return nil }
        switch queue[head] {
        case .simpleQuery(let statement, _): return statement?.command
        case .execute(_, let statement): return statement?.command
        default: return nil
        }
    }

    /// Columns for the DataRow that just arrived.
    public mutating func columnsForDataRow() -> [ResultColumn]? {
        if let current { return current }
        if case .execute(let portal, _)? = peek() {
            let resolved = columns(forPortal: portal)
            current = resolved
            return resolved
        }
        return nil
    }

    /// CommandComplete, EmptyQueryResponse or PortalSuspended: one result set ended. Returns
    /// the statement it belongs to; a simple query's next statement starts at `now`.
    @discardableResult
    public mutating func resultEnded(at now: ContinuousClock.Instant = .now) -> RunningStatement? {
        current = nil
        switch peek() {
        case .execute(_, let statement)?:
            pop()
            return statement
        case .simpleQuery(let statement?, var rest)?:
            // More results than statements found (the splitter is conservative): the last one's name stays.
            queue[head] = .simpleQuery(RunningStatement(command: rest.popFirst() ?? statement.command, start: now), rest: rest)
            return statement
        default:
            return nil
        }
    }

    /// ErrorResponse: in extended mode the server skips to the next Sync. Returns the statement
    /// that failed: the simple query's current one, or the first Execute the error cancels.
    @discardableResult
    public mutating func error() -> RunningStatement? {
        current = nil
        var failed: RunningStatement?
        var index = head
        search: while index < queue.count {
            switch queue[index] {
            case .simpleQuery(let statement, _): failed = statement; break search
            case .execute(_, let statement): failed = statement; break search
            case .sync: break search
            case .describeStatement, .describePortal: index += 1
            }
        }
        while let next = peek(), !next.endsAtReady { pop() }
        return failed
    }

    /// ReadyForQuery ends a simple query, a Sync or a FunctionCall.
    public mutating func readyForQuery() {
        current = nil
        while let next = peek() {
            pop()
            if next.endsAtReady { break }
        }
    }

    public var pendingCount: Int { queue.count - head }
    /// Expectations held, answered ones included (for tests: the queue stays bounded).
    public var storedCount: Int { queue.count }

    private func columns(forPortal portal: String) -> [ResultColumn]? {
        if let described = portalColumns[portal] { return described }
        guard let bound = portals[portal], var columns = statementColumns[bound.statement] else { return nil }
        for index in columns.indices {
            switch bound.formats.count {
            case 0: columns[index].format = 0
            case 1: columns[index].format = bound.formats[0]
            default: columns[index].format = index < bound.formats.count ? bound.formats[index] : 0
            }
        }
        return columns
    }

    private mutating func append(_ expectation: Expectation) { queue.append(expectation) }
    private func peek() -> Expectation? { head < queue.count ? queue[head] : nil }
    /// Past expectations are dropped once they are most of the queue: a client that pipelines
    /// Executes and Flushes without ever sending Sync does not grow it forever.
    private mutating func pop() {
        guard head < queue.count else { return }
        head += 1
        if head > 64, head * 2 > queue.count {
            queue.removeFirst(head)
            head = 0
        }
    }
}

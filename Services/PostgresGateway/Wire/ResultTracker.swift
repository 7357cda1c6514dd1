/// Follows a session's requests and responses so every DataRow is matched with the columns
/// (names and formats) it belongs to, in simple and extended query mode, pipelined or not.
///
/// Pure: the relay feeds it client messages as they go upstream and server messages as they
/// come back.
public struct ResultTracker: Sendable {
    enum Expectation: Sendable, Equatable {
        case simpleQuery
        case describeStatement(String)
        case describePortal(String)
        case execute(portal: String)
        case sync
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

    public mutating func simpleQuery() { append(.simpleQuery) }

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

    public mutating func execute(portal: String) { append(.execute(portal: portal)) }

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

    /// Columns for the DataRow that just arrived.
    public mutating func columnsForDataRow() -> [ResultColumn]? {
        if let current { return current }
        if case .execute(let portal)? = peek() {
            let resolved = columns(forPortal: portal)
            current = resolved
            return resolved
        }
        return nil
    }

    /// CommandComplete, EmptyQueryResponse or PortalSuspended: one result set ended.
    public mutating func resultEnded() {
        current = nil
        if case .execute? = peek() { pop() }
    }

    /// ErrorResponse: in extended mode the server skips to the next Sync.
    public mutating func error() {
        current = nil
        while let next = peek(), next != .sync, next != .simpleQuery { pop() }
    }

    /// ReadyForQuery ends a simple query or a Sync.
    public mutating func readyForQuery() {
        current = nil
        while let next = peek() {
            pop()
            if next == .sync || next == .simpleQuery { break }
        }
        if head > 64 {
            queue.removeFirst(head)
            head = 0
        }
    }

    public var pendingCount: Int { queue.count - head }

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
    private mutating func pop() { if head < queue.count { head += 1 } }
}

/// A PostgreSQL parse tree as libpg_query prints it in JSON: a node is an object with one
/// member named for its type (`{"DeleteStmt": {...}}`), a typed field is an object without
/// that wrapper, lists are arrays. Default values (false, 0, empty lists) are left out.
public indirect enum ParseTree: Sendable, Equatable {
    case object([Member])
    case array([ParseTree])
    case string(String)
    case number(Int)
    case bool(Bool)
    case null

    public struct Member: Sendable, Equatable {
        public var key: String
        public var value: ParseTree
    }

    /// The value of a member of an object, nil for a missing one or a non-object.
    public subscript(key: String) -> ParseTree? {
        guard case .object(let members) = self else { return nil }
        return members.first { $0.key == key }?.value
    }

    /// A node's type and fields, when this is a node (an object of one member whose name
    /// starts with an uppercase letter).
    public var node: (type: String, fields: ParseTree)? {
        guard case .object(let members) = self, members.count == 1,
              let first = members[0].key.utf8.first, first >= UInt8(ascii: "A"), first <= UInt8(ascii: "Z")
        else { return nil }
        return (members[0].key, members[0].value)
    }

    /// The elements of a list; an absent (empty) list or a non-list is empty.
    public var elements: [ParseTree] {
        if case .array(let items) = self { return items }
        return []
    }

    public var stringValue: String? {
        if case .string(let value) = self { return value }
        return nil
    }

    public var intValue: Int? {
        if case .number(let value) = self { return value }
        return nil
    }

    /// A boolean field: absent is false, as libpg_query leaves false out.
    public var isTrue: Bool {
        if case .bool(true) = self { return true }
        return false
    }

    /// Every value below this one, depth first, this one included.
    public func forEachDescendant(_ body: (ParseTree) -> Void) {
        body(self)
        switch self {
        case .object(let members): for member in members { member.value.forEachDescendant(body) }
        case .array(let items): for item in items { item.forEachDescendant(body) }
        default: break
        }
    }

    /// Whether any value below this one (this one included) satisfies `predicate`; stops at
    /// the first.
    public func contains(where predicate: (ParseTree) -> Bool) -> Bool {
        if predicate(self) { return true }
        switch self {
        case .object(let members): return members.contains { $0.value.contains(where: predicate) }
        case .array(let items): return items.contains { $0.contains(where: predicate) }
        default: return false
        }
    }

    /// This tree with every `location` member removed: two expressions written the same way
    /// at different places compare equal.
    public var withoutLocations: ParseTree {
        switch self {
        case .object(let members):
            return .object(members.filter { $0.key != "location" }.map { Member(key: $0.key, value: $0.value.withoutLocations) })
        case .array(let items):
            return .array(items.map(\.withoutLocations))
        default:
            return self
        }
    }
}

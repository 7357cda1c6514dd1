/// How many values of each kind were masked; names are entity names or custom pattern names.
public struct MaskingHits: Sendable, Hashable {
    public private(set) var counts: [String: Int] = [:]

    public init() {}

    public mutating func record(_ name: String, count: Int = 1) {
        counts[name, default: 0] += count
    }

    public mutating func merge(_ other: MaskingHits) {
        for (name, count) in other.counts { counts[name, default: 0] += count }
    }

    public var total: Int { counts.values.reduce(0, +) }

    /// The counts as an audit event's detail: `COLUMN=2 EMAIL=1`, by name.
    public var summary: String {
        counts.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ")
    }
    public var isEmpty: Bool { counts.isEmpty }
}

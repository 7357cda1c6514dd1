/// What one connection masks.
public struct MaskingPolicy: Sendable, Hashable {
    /// Result column names whose whole value is masked (compared case-insensitively).
    public var columns: Set<String>
    public var entities: Set<MaskingEntity>
    public var patterns: [CustomPattern]

    public init(columns: [String] = [], entities: Set<MaskingEntity> = [], patterns: [CustomPattern] = []) {
        self.columns = Set(columns.map { $0.lowercased() })
        self.entities = entities
        self.patterns = patterns
    }

    public var isEmpty: Bool { columns.isEmpty && entities.isEmpty && patterns.isEmpty }

    public func masksColumn(named name: String) -> Bool { columns.contains(name.lowercased()) }

    /// The placeholder for a masked column's whole value.
    public static let columnPlaceholder = "[MASKED]"
}

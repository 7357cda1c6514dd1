/// Masks sensitive values in bytes: whole values (a result column) or streams (a terminal,
/// a copy) through `MaskingStream`. Immutable and `Sendable`; build one per connection.
public struct MaskingEngine: Sendable {
    /// The longest match found across a chunk boundary; longer runs are cut.
    public static let maximumMatchLength = 4096

    public let policy: MaskingPolicy
    let scanner: EntityScanner
    /// Placeholders: one per built-in entity (by `MaskingEntity.index`), then one per custom pattern.
    let placeholders: [[UInt8]]
    let names: [String]

    public init(policy: MaskingPolicy) {
        self.policy = policy
        self.scanner = EntityScanner(policy.entities)
        self.placeholders = MaskingEntity.allCases.map { Array($0.placeholder.utf8) } + policy.patterns.map { Array($0.placeholder.utf8) }
        self.names = MaskingEntity.allCases.map(\.rawValue) + policy.patterns.map(\.name)
    }

    /// Whether values are scanned at all (column masking aside).
    public var scansValues: Bool { !scanner.isEmpty || !policy.patterns.isEmpty }

    /// Masks a whole value. Returns nil when nothing matched, so callers keep the original bytes.
    public func mask(_ value: UnsafeBufferPointer<UInt8>, hits: inout MaskingHits) -> [UInt8]? {
        guard scansValues, !value.isEmpty else { return nil }
        let matches = findMatches(value, previous: nil)
        guard !matches.isEmpty else { return nil }
        var output: [UInt8] = []
        output.reserveCapacity(value.count)
        apply(matches, to: value, upTo: value.count, into: &output, hits: &hits)
        return output
    }

    /// Masks inside a binary value (an array, a record, bytea, tsvector) without changing its
    /// length: each match's bytes become `*`, so length prefixes and offsets stay valid.
    /// Returns nil when nothing matched.
    public func maskPreservingLength(_ value: UnsafeBufferPointer<UInt8>, hits: inout MaskingHits) -> [UInt8]? {
        guard scansValues, !value.isEmpty else { return nil }
        let matches = findMatches(value, previous: nil)
        guard !matches.isEmpty else { return nil }
        var output = Array(value)
        for match in matches where match.range.upperBound <= output.count {
            for index in match.range { output[index] = UInt8(ascii: "*") }
            hits.record(names[match.replacement])
        }
        return output
    }

    public func mask(_ value: [UInt8], hits: inout MaskingHits) -> [UInt8]? {
        value.withUnsafeBufferPointer { mask($0, hits: &hits) }
    }

    /// Masks a string; convenient for tests, messages and small values.
    public func mask(_ text: String) -> String {
        var hits = MaskingHits()
        return mask(text, hits: &hits)
    }

    /// Masks a string, counting what it masked into `hits`.
    public func mask(_ text: String, hits: inout MaskingHits) -> String {
        guard let masked = mask(Array(text.utf8), hits: &hits) else { return text }
        return String(decoding: masked, as: UTF8.self)
    }

    public func makeStream() -> MaskingStream { MaskingStream(engine: self) }

    /// Matches in `buffer` and in the forms of it a client can decode (`DecodedForms`):
    /// non-overlapping, in order.
    func findMatches(_ buffer: UnsafeBufferPointer<UInt8>, previous: UInt8?) -> [EntityScanner.Match] {
        let direct = findDirectMatches(buffer, previous: previous)
        let decoded = DecodedForms.matches(in: buffer) { findDirectMatches($0, previous: nil) }
        guard !decoded.isEmpty else { return direct }
        var merged = direct
        for candidate in decoded.sorted(by: { $0.range.count > $1.range.count }) where !merged.contains(where: { $0.range.overlaps(candidate.range) }) {
            merged.append(candidate)
        }
        merged.sort { $0.range.lowerBound < $1.range.lowerBound }
        return merged
    }

    func findDirectMatches(_ buffer: UnsafeBufferPointer<UInt8>, previous: UInt8?) -> [EntityScanner.Match] {
        var matches: [EntityScanner.Match] = []
        if !scanner.isEmpty { scanner.scan(buffer, previous: previous, into: &matches) }
        guard !policy.patterns.isEmpty else { return matches }
        var custom: [EntityScanner.Match] = []
        for (offset, pattern) in policy.patterns.enumerated() {
            for range in pattern.matches(in: buffer) {
                custom.append(EntityScanner.Match(range: range, replacement: MaskingEntity.allCases.count + offset))
            }
        }
        guard !custom.isEmpty else { return matches }
        // Merge: built-in matches first, then custom ones that overlap none already taken.
        var merged = matches
        for candidate in custom where !merged.contains(where: { $0.range.overlaps(candidate.range) }) {
            merged.append(candidate)
        }
        merged.sort { $0.range.lowerBound < $1.range.lowerBound }
        return merged
    }

    /// Copies `buffer[0..<limit]` into `output` with every match (all within the limit) replaced.
    /// Appends `buffer[start..<limit]` with `matches` replaced. The bytes before `start` were
    /// sent already: a match that began there has the rest of it replaced.
    func apply(_ matches: [EntityScanner.Match], to buffer: UnsafeBufferPointer<UInt8>, from start: Int = 0, upTo limit: Int, into output: inout [UInt8], hits: inout MaskingHits) {
        var cursor = start
        for match in matches where match.range.upperBound <= limit && match.range.upperBound > start {
            output.append(contentsOf: UnsafeBufferPointer(rebasing: buffer[cursor..<max(cursor, match.range.lowerBound)]))
            output.append(contentsOf: placeholders[match.replacement])
            hits.record(names[match.replacement])
            cursor = match.range.upperBound
        }
        output.append(contentsOf: UnsafeBufferPointer(rebasing: buffer[cursor..<limit]))
    }
}

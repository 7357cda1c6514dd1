import Foundation

/// A user-defined detector: a regular expression and the name its placeholder carries.
///
/// Custom patterns are matched inside runs of non-whitespace text of at most
/// `MaskingEngine.maximumMatchLength` bytes; a pattern meant to span spaces matches only
/// within one streamed window.
public struct CustomPattern: Sendable, Hashable {
    public let name: String
    public let source: String
    private let box: Box

    private final class Box: @unchecked Sendable {
        // NSRegularExpression is immutable and safe to use from several threads.
        let expression: NSRegularExpression
        init(_ expression: NSRegularExpression) { self.expression = expression }
    }

    public init(name: String, regex: String) throws {
        self.name = name
        self.source = regex
        do {
            self.box = Box(try NSRegularExpression(pattern: regex, options: []))
        } catch {
            throw CustomPatternError(name: name, regex: regex)
        }
    }

    public var placeholder: String { "[\(name)]" }

    /// Match ranges as UTF-8 byte offsets into `bytes`.
    func matches(in bytes: UnsafeBufferPointer<UInt8>) -> [Range<Int>] {
        // Regular expressions see the bytes as Latin-1 so that offsets map 1:1 to bytes,
        // whether or not the chunk boundary splits a UTF-8 sequence.
        guard let text = String(bytes: bytes, encoding: .isoLatin1) else { return [] }
        let whole = NSRange(location: 0, length: (text as NSString).length)
        return box.expression.matches(in: text, options: [], range: whole).compactMap { match in
            match.range.length > 0 ? match.range.location..<(match.range.location + match.range.length) : nil
        }
    }

    public static func == (lhs: CustomPattern, rhs: CustomPattern) -> Bool { lhs.name == rhs.name && lhs.source == rhs.source }
    public func hash(into hasher: inout Hasher) {
        hasher.combine(name)
        hasher.combine(source)
    }
}

public struct CustomPatternError: Error, CustomStringConvertible {
    public let name: String
    public let regex: String
    public var description: String { "invalid regular expression \"\(regex)\" for pattern \(name)" }
}

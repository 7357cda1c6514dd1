import Foundation

/// A compiled regular expression from the configuration.
///
/// Uses Foundation's `NSRegularExpression` (ICU syntax: `(?i)`, `\b`, `\s` as users
/// write them in other tools). Compiled once at configuration load.
public struct PatternMatcher: Sendable, Hashable, CustomStringConvertible {
    public let source: String
    private let regex: Box
    /// Letters every match contains; ASCII text without them cannot match (see `RequiredLiteral`).
    private let literal: [UInt8]?

    private final class Box: @unchecked Sendable {
        // NSRegularExpression is immutable and documented thread-safe for matching.
        let expression: NSRegularExpression
        init(_ expression: NSRegularExpression) { self.expression = expression }
    }

    public init(_ source: String) throws {
        do {
            self.regex = Box(try NSRegularExpression(pattern: source, options: []))
        } catch {
            throw PatternError(pattern: source)
        }
        self.source = source
        self.literal = RequiredLiteral.find(in: source)
    }

    /// True when this pattern cannot match any text that `ascii` (ASCII bytes, comments
    /// still in) normalises to: its required literal is absent. Comments become spaces in the
    /// normalised text and the literal holds no space, so a literal absent here is absent there.
    func cannotMatch(ascii bytes: UnsafeBufferPointer<UInt8>) -> Bool {
        guard let literal else { return false }
        return !ASCIISearch.contains(literal, in: bytes)
    }

    public func matches(_ text: String) -> Bool {
        if let literal {
            var text = text
            // Only for ASCII text: there, ICU's case-insensitive match of an ASCII literal is
            // exactly an ASCII comparison ignoring case. Other text goes to the expression.
            let excluded = text.withUTF8 { bytes in
                bytes.allSatisfy { $0 < 0x80 } && !ASCIISearch.contains(literal, in: bytes)
            }
            if excluded { return false }
        }
        let range = NSRange(text.startIndex..<text.endIndex, in: text)
        return regex.expression.firstMatch(in: text, options: [], range: range) != nil
    }

    public var description: String { source }

    public static func == (lhs: PatternMatcher, rhs: PatternMatcher) -> Bool { lhs.source == rhs.source }
    public func hash(into hasher: inout Hasher) { hasher.combine(source) }
}

public struct PatternError: Error, CustomStringConvertible {
    public let pattern: String
    public var description: String { "invalid regular expression \"\(pattern)\"" }
}

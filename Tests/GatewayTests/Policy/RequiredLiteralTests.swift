@testable import GatewayPolicy
import Testing

@Suite("Required literal pre-check for patterns")
struct RequiredLiteralTests {
    @Test(arguments: [
        (#"(?i)\bdrop\s+(table|schema|database)\b"#, "drop"),
        (#"rm\s+-[a-z]*r[a-z]*f"#, nil),
        (#"^\s*systemctl\s+restart\b"#, "systemctl"),
        (#"(?i)^\s*(update|delete|insert)\b"#, nil),
        (#"sk_live_[A-Za-z0-9]{16,}"#, "live"),
        (#"drops?table"#, "table"),
        (#"colou?r"#, "colo"),
        (#"abc|defgh"#, nil),
        (#"(?x) drop"#, nil),
        (#"\x64rop"#, nil),
        (#"trunc+ate"#, "trunc"),
        (#"(?i:drop)\s+everything"#, "everything"),
        (#"[drop]{4}ping"#, "ping"),
    ] as [(String, String?)])
    func findsTheLongestRequiredRun(pattern: String, expected: String?) {
        #expect(RequiredLiteral.find(in: pattern).map { String(decoding: $0, as: UTF8.self) } == expected)
    }

    /// The pre-check never changes an answer: with and without it, the same texts match.
    @Test func neverChangesTheAnswer() throws {
        let patterns = [
            #"(?i)\bdrop\s+(table|schema|database)\b"#, #"^\s*systemctl\s+restart\b"#, #"sk_live_[A-Za-z0-9]{16,}"#,
            #"colou?r"#, #"trunc+ate"#, #"(?i:drop)\s+everything"#, #"DROP\s+TABLE"#,
        ]
        let pieces = ["drop", "DROP", "DrOp", " ", "table", "schema", "systemctl", "restart", "\n", "colour", "color", "truncccate",
                      "sk_live_", "abcdefghijklmnop1234", "everything", "drör", "ſ", "é", "TABLE", "x"]
        var generator = SystemRandomNumberGenerator()
        for pattern in patterns {
            let checked = try PatternMatcher(pattern)
            let plain = try NSRegularExpressionReference(pattern)
            for _ in 0..<400 {
                let text = (0..<Int.random(in: 0..<6, using: &generator)).map { _ in pieces.randomElement(using: &generator)! }.joined()
                #expect(checked.matches(text) == plain.matches(text), "\(pattern) on \(text.debugDescription)")
            }
        }
    }
}

import Foundation

/// The regular expression alone, as a reference.
private struct NSRegularExpressionReference {
    let expression: NSRegularExpression
    init(_ pattern: String) throws { expression = try NSRegularExpression(pattern: pattern) }
    func matches(_ text: String) -> Bool {
        expression.firstMatch(in: text, range: NSRange(text.startIndex..<text.endIndex, in: text)) != nil
    }
}

import Foundation
@testable import GatewayJSON
import Testing

@Suite("JSON string escaping for casts")
struct JSONStringTests {
    /// Whatever the text, the escaped form is valid JSON that decodes to the same text.
    @Test func roundTripsEveryKindOfCharacter() throws {
        var samples = [
            "", "plain", "quote \" and backslash \\ and slash /", "\u{1b}[1;31mred\u{1b}[0m\r\n", "tab\tbell\u{07}del\u{7f}",
            "naïve — 日本語 🚀", String(repeating: "abcdefgh", count: 20) + "\"", String((0..<128).map { Character(UnicodeScalar($0)!) }),
        ]
        var generator = SystemRandomNumberGenerator()
        let alphabet = Array("ab\"\\\n\r\t\u{1b}\u{00}\u{1f}\u{7f}é日🚀 xyz")
        for _ in 0..<500 {
            samples.append(String((0..<Int.random(in: 0..<40, using: &generator)).map { _ in alphabet.randomElement(using: &generator)! }))
        }
        for sample in samples {
            var output: [UInt8] = []
            JSONString.append(sample, to: &output)
            let decoded = try JSONSerialization.jsonObject(with: Data(output), options: [.fragmentsAllowed]) as? String
            #expect(decoded == sample, "\(sample.debugDescription)")
        }
    }

    @Test(arguments: Array(0...255))
    func theWordCheckAgreesWithTheByteCheck(byte: Int) {
        for position in 0..<8 {
            var bytes = [UInt8](repeating: UInt8(ascii: "a"), count: 8)
            bytes[position] = UInt8(byte)
            let word = bytes.withUnsafeBytes { $0.loadUnaligned(as: UInt64.self) }
            let expected = byte < 0x20 || byte == 0x22 || byte == 0x5C || byte == 0x7F
            #expect(JSONString.needsEscape(word) == expected)
        }
    }

    @Test func theWordCheckAgreesOnRandomWords() {
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<200_000 {
            let word = UInt64.random(in: 0...UInt64.max, using: &generator)
            var expected = false
            for shift in stride(from: 0, to: 64, by: 8) {
                let byte = UInt8(truncatingIfNeeded: word >> UInt64(shift))
                if byte < 0x20 || byte == 0x22 || byte == 0x5C || byte == 0x7F { expected = true }
            }
            #expect(JSONString.needsEscape(word) == expected)
        }
    }
}

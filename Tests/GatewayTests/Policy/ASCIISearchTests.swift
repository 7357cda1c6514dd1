import GatewayPolicy
import Testing

@Suite("ASCII word search")
struct ASCIISearchTests {
    /// The byte-at-a-time definition: a position where every byte, folded with `| 0x20`,
    /// equals the word's.
    static func reference(_ word: [UInt8], _ text: [UInt8]) -> Bool {
        guard !word.isEmpty else { return true }
        guard word.count <= text.count else { return false }
        return (0...(text.count - word.count)).contains { start in
            word.indices.allSatisfy { text[start + $0] | 0x20 == word[$0] }
        }
    }

    @Test func agreesWithTheBytewiseDefinition() {
        var generator = SystemRandomNumberGenerator()
        let words = ["drop", "delete", "copy", "a", "pg", "x1", "truncate", "alter"].map { Array($0.utf8) }
        // Mostly letters of the words in both cases, some digits, spaces, punctuation,
        // control bytes and UTF-8.
        let alphabet = Array("dropDROPdeleteDELETEcopyCOPYaApPgGxX1 ;_'\"\t\n".utf8) + [0x01, 0x11, 0xC3, 0xA9, 0xE2, 0x98, 0x83]
        for _ in 0..<20_000 {
            let length = Int.random(in: 0...40, using: &generator)
            let text = (0..<length).map { _ in alphabet.randomElement(using: &generator)! }
            let word = words.randomElement(using: &generator)!
            let found = text.withUnsafeBufferPointer { ASCIISearch.contains(word, in: $0) }
            #expect(found == Self.reference(word, text), "\(word) in \(text)")
        }
    }

    @Test func findsWordsAtEveryOffsetAndCase() {
        for offset in 0..<20 {
            for spelling in ["drop", "DROP", "Drop", "dRoP"] {
                let text = String(repeating: "x", count: offset) + spelling + String(repeating: "y", count: 20 - offset)
                #expect(ASCIISearch.contains(Array("drop".utf8), in: text))
                #expect(!ASCIISearch.contains(Array("drops".utf8), in: text))
            }
        }
        #expect(!ASCIISearch.contains(Array("drop".utf8), in: "dro"))
        #expect(ASCIISearch.contains([], in: ""))
    }
}

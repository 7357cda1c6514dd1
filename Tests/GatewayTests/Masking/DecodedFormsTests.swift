import Foundation
import GatewayMasking
import Testing

/// A masked value must not come back in a form the client can turn into it again.
@Suite("Masking of decoded forms")
struct DecodedFormsTests {
    let engine = MaskingEngine(policy: MaskingPolicy(entities: [.email, .creditCard, .usSSN]))

    struct Case: Sendable, CustomTestStringConvertible {
        var input: String
        var forbidden: String
        var testDescription: String { input }
    }

    static let cases: [Case] = [
        // base64, plain and wrapped at 76 columns, and URL-safe.
        Case(input: "amFuZUBleGFtcGxlLmNvbQ==", forbidden: "amFuZUBleGFtcGxlLmNvbQ"),
        Case(input: "token: amFuZS5yb2VAZXhhbXBsZS5jb20K end", forbidden: "amFuZS5yb2VAZXhhbXBsZS5jb20K"),
        Case(input: "NDExMSAxMTExIDExMTEgMTExMQ==", forbidden: "NDExMSAxMTExIDExMTEgMTExMQ"),
        // hex: bytea output, encode(..., 'hex'), xxd's groups.
        Case(input: "\\x6a616e65406578616d706c652e636f6d", forbidden: "6a616e65406578616d706c652e636f6d"),
        Case(input: "6A616E65406578616D706C652E636F6D", forbidden: "6A616E65406578616D706C652E636F6D"),
        Case(input: "00000000: 6a61 6e65 4065 7861 6d70 6c65 2e63 6f6d", forbidden: "6a61 6e65 4065 7861"),
        // reversed.
        Case(input: "moc.elpmaxe@enaj", forbidden: "moc.elpmaxe@enaj"),
        // characters inserted that a reader drops.
        Case(input: "jane(at)example.com", forbidden: "jane(at)example"),
        Case(input: "jane [at] example [dot] com", forbidden: "jane [at] example"),
        Case(input: "jane at example dot com", forbidden: "jane at example"),
        Case(input: "jane\u{1b}[0m@example.com", forbidden: "example.com"),
        Case(input: "jane\u{200b}@example.com", forbidden: "example.com"),
        Case(input: "jane@exa\u{ad}mple.com", forbidden: "mple.com"),
    ]

    @Test("masked", arguments: cases)
    func masked(_ testCase: Case) {
        let output = engine.mask(testCase.input)
        #expect(!output.contains(testCase.forbidden), "\(output)")
        #expect(output.contains("["), "\(output)")
    }

    /// A value inside a long encoded run (a file printed with `base64` or `xxd -p`): its own
    /// characters are masked, and the decoded rest of the run still reads as it did.
    @Test func aValueInsideALongRunMasksOnlyItsCharacters() throws {
        let plain = String(repeating: "lorem ipsum dolor ", count: 40) + "jane.doe@example.com" + String(repeating: " sit amet", count: 40)
        let base64 = Data(plain.utf8).base64EncodedString(options: [.lineLength76Characters, .endLineWithLineFeed])
        for encoded in [base64, plain.utf8.map { String(format: "%02x", $0) }.joined()] {
            let output = engine.mask(encoded)
            #expect(output.contains("[EMAIL]"))
            #expect(output.count > encoded.count - 80, "\(encoded.count) → \(output.count)")
            let pieces = output.components(separatedBy: "[EMAIL]")
            #expect(pieces.count == 2)
            // What is left decodes to the text around the address, without it.
            let before = pieces[0].filter { $0 != "\n" }
            if encoded == base64, let head = Data(base64Encoded: String(before.prefix(before.count / 4 * 4))) {
                #expect(String(decoding: head, as: UTF8.self).hasPrefix("lorem ipsum"))
                #expect(!String(decoding: head, as: UTF8.self).contains("jane.doe@"))
            }
        }
    }

    /// Ordinary values are left alone: long identifiers, hashes and words.
    @Test(arguments: [
        "3f2a9c0d4b1e8f7a6c5d4e3f2a1b0c9d",  // an md5: decodes to nothing detectable
        "SELECT count(*) FROM orders WHERE status = 'shipped'",
        "the meeting is at noon at the office",
        "ZXhhbXBsZSBvZiBwbGFpbiB0ZXh0",  // base64 of plain text
        "b3JkZXItMTIzNDU2Nzg5MA==",
    ])
    func untouched(_ input: String) {
        #expect(engine.mask(input) == input)
    }
}

/// What an interactive relay sends when output pauses.
@Suite("Masking stream after a pause")
struct MaskingStreamPauseTests {
    let engine = MaskingEngine(policy: MaskingPolicy(entities: [.email, .creditCard]))

    @Test func heldTextIsReleasedUnlessItStartsAValue() {
        var stream = engine.makeStream()
        let typed = stream.process(Array("echo typed-abc".utf8))
        let released = stream.flushAfterPause()
        #expect(String(decoding: typed + released, as: UTF8.self) == "echo typed-abc")
    }

    /// Half an address, a pause, the other half: neither half reaches the client.
    @Test func aValueSplitByAPauseStaysMasked() {
        var stream = engine.makeStream()
        var output = stream.process(Array("mail: jane@exa".utf8))
        output += stream.flushAfterPause()
        output += stream.process(Array("mple.com done\n".utf8))
        output += stream.finish()
        let text = String(decoding: output, as: UTF8.self)
        #expect(!text.contains("jane"), "\(text)")
        #expect(!text.contains("mple.com"), "\(text)")
        #expect(text.contains("mail: ") && text.contains(" done"), "\(text)")
        var digits = engine.makeStream()
        var card = digits.process(Array("4111 1111".utf8))
        card += digits.flushAfterPause()
        card += digits.process(Array(" 1111 1111\n".utf8))
        card += digits.finish()
        let cardText = String(decoding: card, as: UTF8.self)
        #expect(!cardText.contains("4111") && !cardText.contains("1111"), "\(cardText)")
    }
}

import GatewayMasking
import GatewayPolicy
import PostgresWireFuzzing
import Testing

/// Hostile inputs every decoder, parser and engine must survive; crash inputs found by
/// fuzzing belong here.
@Suite("Fuzz regressions")
struct FuzzRegressionTests {
    static let wireInputs: [[UInt8]] = [
        [],
        [0, 0, 0, 8, 4, 210, 22, 47],                         // SSLRequest
        [0, 0, 0, 4],                                         // start-up length below the minimum
        [0xFF, 0xFF, 0xFF, 0xFF, 0, 3, 0, 0],                 // start-up length far too large
        [UInt8(ascii: "D"), 0, 0, 0, 10, 0, 3, 0xFF, 0xFF, 0xFF, 0xFF],        // DataRow, values missing
        [UInt8(ascii: "T"), 0, 0, 0, 6, 0x7F, 0xFF],                           // RowDescription, 32767 columns claimed
        [UInt8(ascii: "B"), 0, 0, 0, 12, 0, 0, 0x7F, 0xFF, 0, 0, 0, 0],        // Bind, format count overflow
        [UInt8(ascii: "R"), 0, 0, 0, 8, 0, 0, 0, 5],                           // md5 request without salt
        [UInt8(ascii: "E"), 0, 0, 0, 6, UInt8(ascii: "M"), 65],                // error field without terminator
        [UInt8(ascii: "Q"), 0, 0, 0, 4],                                       // empty query without NUL
    ]

    @Test(arguments: wireInputs)
    func wireSurvives(_ input: [UInt8]) {
        input.withUnsafeBytes { FuzzEntryPoints.wire($0) }
    }

    static let textInputs: [String] = [
        "$$", "$a$", "'", "E'\\", "/*", "/* /* */", "--", "\"", "U&\"", "$1$", "DO $$", "DO '", "EXECUTE",
        "UPDATE", "UPDATE ONLY", "DELETE FROM", "COPY (", "))))", "((((", "@", "a@", "@b.c", "4111 1111 1111 111",
        "+", "(555", "DE89 ", "AKIA", "eyJ.eyJ.", "::", "1.2.3.", "\u{1B}[", "\u{1B}", String(repeating: "a@", count: 5000),
    ]

    @Test(arguments: textInputs)
    func policyAndMaskingSurvive(_ input: String) {
        Array(input.utf8).withUnsafeBytes { FuzzEntryPoints.policyAndMasking($0) }
    }
}

/// Inputs libFuzzer found that broke an invariant, kept with the outcome they must have.
@Suite("Fuzz findings")
struct FuzzFindingTests {
    /// fuzz-masking: an IBAN whose first characters went out at a pause flush (they looked like
    /// no value yet) came through whole, its rest arriving in the next chunk. Now the token a
    /// pause sent stays as context and the rest of the value is masked. The same for a card
    /// cut after five digits.
    @Test(arguments: [("DE89370", "400440532013000"), ("4111 1", "111 1111 1111"), ("alice.sm", "ith@example.com")])
    func aValueCutByAPauseFlushDoesNotComeThrough(first: String, rest: String) {
        let engine = MaskingEngine(policy: MaskingPolicy(entities: Set(MaskingEntity.allCases)))
        var stream = engine.makeStream()
        var output = stream.process(Array("\u{7}\n\(first)".utf8))
        output += stream.flushAfterPause()
        output += stream.process(Array("\(rest)\n".utf8))
        output += stream.finish()
        let text = String(decoding: output, as: UTF8.self)
        #expect(!text.contains(first + rest), "\(text)")
        #expect(text.hasPrefix("\u{7}\n"))
        #expect(stream.takeHits().total >= 1)
        // Output that is no value passes whole through the same pauses.
        var plain = engine.makeStream()
        var passed = plain.process(Array("building tar".utf8))
        passed += plain.flushAfterPause()
        passed += plain.process(Array("get done\n".utf8))
        passed += plain.finish()
        #expect(String(decoding: passed, as: UTF8.self) == "building target done\n")
    }

    /// fuzz-sql-policy (first version of its invariant): a query of one invalid UTF-8 byte
    /// (0xD8, read as U+FFFD) is a statement with no finding. That is by design: the grammar
    /// rejects it and it names no word any decided construct needs, so the server rejects it
    /// too. The invariant is now "classified, opaque, or rejected by the grammar".
    @Test func textTheGrammarRejectsWithoutADecidedWordHasNoFinding() {
        let text = String(decoding: [0xD8], as: UTF8.self)
        let analyzed = SQLAnalyzer.analyze(text)
        #expect(analyzed.count == 1)
        for statement in analyzed {
            #expect(statement.findings.kinds.isEmpty && statement.findings.opaque.isEmpty)
            guard case .failure = PgQuery.parse(statement.text) else {
                Issue.record("the grammar accepts \(statement.text.debugDescription)")
                continue
            }
        }
        // With a word a decided construct needs, the same rejected text is opaque.
        #expect(SQLAnalyzer.analyze(text + " drop").allSatisfy { !$0.findings.opaque.isEmpty })
    }
}

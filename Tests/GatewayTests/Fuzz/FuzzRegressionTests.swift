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

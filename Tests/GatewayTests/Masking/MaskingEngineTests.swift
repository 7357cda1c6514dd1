import GatewayMasking
import Testing

@Suite("Masking engine")
struct MaskingEngineTests {
    static let all = MaskingEngine(policy: MaskingPolicy(entities: Set(MaskingEntity.allCases)))

    struct Case: Sendable, CustomTestStringConvertible {
        var input: String
        var expected: String
        var testDescription: String { input }
        init(_ input: String, _ expected: String) {
            self.input = input
            self.expected = expected
        }
    }

    static let cases: [Case] = [
        // EMAIL
        Case("contact alice@example.com today", "contact [EMAIL] today"),
        Case("a.b+tag@sub.example.co.uk.", "[EMAIL]."),
        Case("<bob_smith99@mail-server.org>", "<[EMAIL]>"),
        Case("not an email: a@b, user@localhost, @example.com", "not an email: a@b, user@localhost, @example.com"),
        // CREDIT_CARD (Luhn)
        Case("card 4111111111111111 ok", "card [CREDIT_CARD] ok"),
        Case("card 4111 1111 1111 1111.", "card [CREDIT_CARD]."),
        Case("card 5500-0000-0000-0004", "card [CREDIT_CARD]"),
        Case("amex 378282246310005", "amex [CREDIT_CARD]"),
        Case("bad luhn 4111111111111112", "bad luhn 4111111111111112"),
        Case("order id 1234567890123", "order id 1234567890123"),
        Case("too long 41111111111111110000000", "too long 41111111111111110000000"),
        // US_SSN
        Case("ssn 123-45-6789", "ssn [US_SSN]"),
        Case("ssn 000-12-3456 666-12-3456 900-12-3456 123-00-4567 123-45-0000", "ssn 000-12-3456 666-12-3456 900-12-3456 123-00-4567 123-45-0000"),
        Case("date 2024-01-1234", "date 2024-01-1234"),
        // PHONE
        Case("call (555) 123-4567", "call [PHONE]"),
        Case("call 555-123-4567 or 555.987.6543", "call [PHONE] or [PHONE]"),
        Case("intl +44 20 7946 0958", "intl [PHONE]"),
        Case("us 1-800-555-0199", "us [PHONE]"),
        Case("+1 (415) 555-2671", "[PHONE]"),
        Case("version 1.2.3 and 12345", "version 1.2.3 and 12345"),
        // IBAN (mod 97)
        Case("iban DE89370400440532013000", "iban [IBAN]"),
        Case("iban GB82 WEST 1234 5698 7654 32 paid", "iban [IBAN] paid"),
        Case("iban DE89370400440532013001", "iban DE89370400440532013001"),
        // IP_ADDRESS
        Case("from 192.168.1.20:5432", "from [IP_ADDRESS]:5432"),
        Case("host 10.0.0.1, 255.255.255.255", "host [IP_ADDRESS], [IP_ADDRESS]"),
        Case("not ip 999.1.1.1 or 1.2.3", "not ip 999.1.1.1 or 1.2.3"),
        Case("v6 2001:db8:85a3::8a2e:370:7334 end", "v6 [IP_ADDRESS] end"),
        Case("v6 fe80:0:0:0:202:b3ff:fe1e:8329", "v6 [IP_ADDRESS]"),
        Case("time 12:30:45 and std::vector", "time 12:30:45 and std::vector"),
        // AWS_ACCESS_KEY
        Case("key AKIAIOSFODNN7EXAMPLE", "key [AWS_ACCESS_KEY]"),
        Case("ASIAY34FZKBOKMUTVV7A,", "[AWS_ACCESS_KEY],"),
        Case("AKIAIOSFODNN7EXAMPLEX too long", "AKIAIOSFODNN7EXAMPLEX too long"),
        // JWT
        Case("Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0In0.dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk", "Bearer [JWT]"),
        Case("eyJ alone is fine", "eyJ alone is fine"),
        // Several in one value; unicode around
        Case("naïve → alice@example.com ✓ 4111111111111111", "naïve → [EMAIL] ✓ [CREDIT_CARD]"),
        Case("", ""),
    ]

    @Test("whole values", arguments: cases)
    func wholeValues(_ testCase: Case) {
        #expect(Self.all.mask(testCase.input) == testCase.expected)
    }

    @Test("split at every byte boundary", arguments: cases)
    func splitAtEveryBoundary(_ testCase: Case) {
        let bytes = Array(testCase.input.utf8)
        for cut in 0...bytes.count {
            var stream = Self.all.makeStream()
            var output = stream.process(Array(bytes[..<cut]))
            output += stream.process(Array(bytes[cut...]))
            output += stream.finish()
            #expect(String(decoding: output, as: UTF8.self) == testCase.expected, "cut at \(cut)")
        }
    }

    @Test func byteAtATime() {
        let text = "user bob@example.org paid with 4111 1111 1111 1111 from 10.1.2.3; ssn 123-45-6789\n"
        var stream = Self.all.makeStream()
        var output: [UInt8] = []
        for byte in text.utf8 { output += stream.process([byte]) }
        output += stream.finish()
        #expect(String(decoding: output, as: UTF8.self) == "user [EMAIL] paid with [CREDIT_CARD] from [IP_ADDRESS]; ssn [US_SSN]\n")
    }

    @Test func onlyEnabledEntities() {
        let engine = MaskingEngine(policy: MaskingPolicy(entities: [.email]))
        #expect(engine.mask("a@example.com 4111111111111111") == "[EMAIL] 4111111111111111")
    }

    @Test func customPatterns() throws {
        let engine = MaskingEngine(policy: MaskingPolicy(entities: [.email], patterns: [try CustomPattern(name: "API_KEY", regex: "sk_live_[A-Za-z0-9]{16,}")]))
        #expect(engine.mask("key=sk_live_abcdefghijklmnop1234 mail a@example.com") == "key=[API_KEY] mail [EMAIL]")
        let bytes = Array("token sk_live_ABCDEFGHIJKLMNOPQRST end".utf8)
        for cut in 0...bytes.count {
            var stream = engine.makeStream()
            let output = stream.process(Array(bytes[..<cut])) + stream.process(Array(bytes[cut...])) + stream.finish()
            #expect(String(decoding: output, as: UTF8.self) == "token [API_KEY] end", "cut at \(cut)")
        }
    }

    @Test func columnPolicy() {
        let policy = MaskingPolicy(columns: ["Email", "ssn"])
        #expect(policy.masksColumn(named: "email"))
        #expect(policy.masksColumn(named: "SSN"))
        #expect(!policy.masksColumn(named: "name"))
    }

    @Test func hitsAreCounted() {
        var hits = MaskingHits()
        _ = Self.all.mask(Array("a@example.com b@example.com 123-45-6789".utf8), hits: &hits)
        #expect(hits.counts["EMAIL"] == 2)
        #expect(hits.counts["US_SSN"] == 1)
    }

    @Test func untouchedValueIsNotCopied() {
        var hits = MaskingHits()
        #expect(Self.all.mask(Array("nothing sensitive here".utf8), hits: &hits) == nil)
    }

    @Test func terminalEscapesSurvive() {
        let text = "\u{1B}[31malice@example.com\u{1B}[0m \u{1B}[1;32m$ \u{1B}[0m"
        #expect(Self.all.mask(text) == "\u{1B}[31m[EMAIL]\u{1B}[0m \u{1B}[1;32m$ \u{1B}[0m")
    }

    @Test func memoryStaysBounded() {
        // An endless run of token characters must not be buffered without limit.
        var stream = Self.all.makeStream()
        let chunk = [UInt8](repeating: UInt8(ascii: "x"), count: 10_000)
        var emitted = 0
        for _ in 0..<100 {
            emitted += stream.process(chunk).count
            #expect(stream.heldCount <= MaskingEngine.maximumMatchLength)
        }
        emitted += stream.finish().count
        #expect(emitted == 1_000_000)
    }

    @Test func promptIsNotHeldBack() {
        var stream = Self.all.makeStream()
        #expect(stream.process(Array("user@host:~$ ".utf8)) == Array("user@host:~$ ".utf8))
        #expect(stream.heldCount == 0)
    }

    @Test func flushReleasesHeldText() {
        var stream = Self.all.makeStream()
        let first = stream.process(Array("typing l".utf8))
        #expect(String(decoding: first, as: UTF8.self) == "typing ")
        #expect(String(decoding: stream.flush(), as: UTF8.self) == "l")
        #expect(String(decoding: stream.process(Array("s\n".utf8)), as: UTF8.self) == "s\n")
    }
}

import Foundation
import GatewayJSON
import Testing

@Suite("JSON numbers written as digits")
struct JSONNumberTests {
    @Test(arguments: [0, 1, 9, 10, 42, 1_000_000, -1, -987_654_321, Int.max, Int.min])
    func integersMatchTheirDescription(_ value: Int) {
        var out: [UInt8] = []
        JSONNumber.append(value, to: &out)
        #expect(String(decoding: out, as: UTF8.self) == String(value))
    }

    @Test func thousandthsReadBackAsTheRoundedValue() throws {
        var generator = SystemRandomNumberGenerator()
        let samples: [Double] = [0, 0.0004, 0.0005, 0.001, 0.1, 0.12, 0.125, 1, 10.5, 999.9995, 123_456.789]
            + (0..<500).map { _ in Double.random(in: 0..<100_000, using: &generator) }
        for value in samples {
            var out: [UInt8] = []
            JSONNumber.appendThousandths(value, to: &out)
            let text = String(decoding: out, as: UTF8.self)
            let parsed = try #require(Double(text))
            #expect(parsed == (value * 1000).rounded() / 1000, "\(value) → \(text)")
            #expect(!text.contains("e") && !(text.contains(".") && text.hasSuffix("0")), "shortest form: \(text)")
            #expect(try JSONSerialization.jsonObject(with: Data(out), options: .fragmentsAllowed) is NSNumber)
        }
    }

    @Test func outOfRangeFallsBackToTheDescription() {
        for value in [-1.5, 1e20, Double.infinity] {
            var out: [UInt8] = []
            JSONNumber.appendThousandths(value, to: &out)
            #expect(String(decoding: out, as: UTF8.self) == value.description)
        }
    }
}

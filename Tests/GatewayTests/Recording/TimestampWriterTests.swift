import Foundation
import Testing

@testable import GatewayRecording

@Suite("Recording timestamps")
struct TimestampWriterTests {
    /// Runs of events within one second, jumps across seconds, minutes, days and years: the
    /// writer that keeps the seconds' text agrees with the one that converts every time.
    @Test func agreesWithTheFullConversion() {
        var generator = SystemRandomNumberGenerator()
        var writer = TimestampWriter()
        var time = 1_798_761_599.0  // 2026-12-31T23:59:59Z
        for _ in 0..<5_000 {
            switch Int.random(in: 0..<10, using: &generator) {
            case 0: time += Double.random(in: 1...100_000_000, using: &generator)
            case 1: time = Double(Int.random(in: 0...4_000_000_000, using: &generator))
            default: time += Double.random(in: 0..<0.4, using: &generator)
            }
            var written: [UInt8] = []
            writer.append(Date(timeIntervalSince1970: time), to: &written)
            #expect(String(decoding: written, as: UTF8.self) == RecordingCoding.timestamp(Date(timeIntervalSince1970: time)))
        }
    }
}

import Foundation
import GatewayMasking
import Testing

/// What the stream masker passes on when there is nothing to mask: every byte, however the
/// text is chunked (found by `bench/kube-bench.sh`, where base64 output through a masked exec
/// came out shorter than it went in).
@Suite("Masking stream without values")
struct MaskingStreamLosslessTests {
    /// Random bytes as `base64 -w 76` prints them: long runs of characters an address's local
    /// part may hold, and no `@`.
    static func base64Text(_ count: Int, seed: UInt64) -> [UInt8] {
        var generator = SeededGenerator(seed: seed)
        let raw = (0..<count).map { _ in UInt8.random(in: 0...255, using: &generator) }
        let encoded = Array(Data(raw).base64EncodedString().utf8)
        var lines: [UInt8] = []
        for start in stride(from: 0, to: encoded.count, by: 76) {
            lines += encoded[start..<min(start + 76, encoded.count)]
            lines.append(UInt8(ascii: "\n"))
        }
        return lines
    }

    /// Random bytes decode, now and then, to something an address detector matches (seeds 191
    /// and 393 do): the characters that encode it are masked, not the whole run — the rest of
    /// the output passes, so a 200 KiB base64 dump loses a few characters, not 32 KiB.
    @Test(arguments: [UInt64(191), 393, 100, 101, 102, 103])
    func aValueFoundInsideALongBase64RunMasksOnlyItself(seed: UInt64) {
        let engine = MaskingEngine(policy: MaskingPolicy(entities: [.email]))
        let text = Self.base64Text(196_608, seed: seed)
        var stream = engine.makeStream()
        var output: [UInt8] = []
        for start in stride(from: 0, to: text.count, by: 32768) {
            output += stream.process(Array(text[start..<min(start + 32768, text.count)]))
        }
        output += stream.flush()
        let hits = stream.takeHits().counts.values.reduce(0, +)
        if hits == 0 {
            #expect(output == text)
        } else {
            // Each masked value: its characters (an address's bytes, 4/3 of them plus a quantum) became "[EMAIL]".
            #expect(text.count - output.count <= hits * 128, "seed \(seed): \(text.count - output.count) bytes gone for \(hits) values")
            #expect(String(decoding: output, as: UTF8.self).contains("[EMAIL]"))
        }
    }

    @Test(arguments: [MaskingEntity.email], [UInt64(1), 2, 3, 4, 5, 6, 7, 8])
    func textWithoutValuesPassesWhole(entity: MaskingEntity, seed: UInt64) {
        let engines = [
            MaskingEngine(policy: MaskingPolicy(entities: [entity])),
            MaskingEngine(policy: MaskingPolicy(entities: Set(MaskingEntity.allCases))),
        ]
        let text = Self.base64Text(196_608, seed: seed)
        for engine in engines {
            var generator = SeededGenerator(seed: seed &* 7919)
            var stream = engine.makeStream()
            var output: [UInt8] = []
            var start = 0
            while start < text.count {
                // Chunks as a socket delivers them: from a few bytes to 64 KiB.
                let size = [1, 7, 76, 1000, 32768, 65536].randomElement(using: &generator)!
                let end = min(start + size, text.count)
                output += stream.process(Array(text[start..<end]))
                start = end
            }
            output += stream.flush()
            if engine.policy.entities == [entity] {
                #expect(output.count == text.count, "seed \(seed): \(text.count - output.count) bytes lost")
                #expect(output == text)
            } else {
                // Every detector on: base64 may hold what reads as a key or a token, masked; nothing vanishes unmasked.
                #expect(output.count >= text.count / 2)
            }
        }
    }
}

/// A small deterministic generator (SplitMix64), so a failing seed can be replayed.
struct SeededGenerator: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

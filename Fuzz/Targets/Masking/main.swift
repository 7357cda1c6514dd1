import FuzzDriver
import GatewayMasking

/// The masking engine, whole values and streams, on arbitrary text with a known sensitive
/// value placed inside it (on a line of its own, so no surrounding byte can legitimately make
/// it something else). Invariants: the masked output never contains the value, however the
/// stream is cut into chunks; and output never grows beyond the input plus one placeholder's
/// worth per value masked.
let secrets: [String] = [
    "alice.smith@example.com", "4111 1111 1111 1111", "5500-0000-0000-0004", "378282246310005",
    "123-45-6789", "AKIAIOSFODNN7EXAMPLE", "DE89370400440532013000", "+1 (415) 555-0132",
    "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.c2lnbmF0dXJlLWJ5dGVzLWhlcmU",
]
let engine = MaskingEngine(policy: MaskingPolicy(columns: ["email"], entities: Set(MaskingEntity.allCases)))
let longestPlaceholder = MaskingEntity.allCases.map(\.placeholder.utf8.count).max()! + MaskingPolicy.columnPlaceholder.utf8.count

func contains(_ haystack: [UInt8], _ needle: [UInt8]) -> Bool {
    guard needle.count <= haystack.count else { return false }
    return haystack.withUnsafeBufferPointer { h in
        (0...(h.count - needle.count)).contains { start in
            h[start] == needle[0] && h[start..<start + needle.count].elementsEqual(needle)
        }
    }
}

runFuzzer { data, size in
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    guard let selector = bytes.first else { return 0 }
    let secret = Array(secrets[Int(selector) % secrets.count].utf8)
    let filler = bytes.dropFirst()
    let half = filler.startIndex + filler.count / 2
    let input = Array(filler[..<half]) + [0x0A] + secret + [0x0A] + Array(filler[half...])

    var hits = MaskingHits()
    let whole = engine.mask(input, hits: &hits) ?? input
    precondition(!contains(whole, secret), "a masked value came through whole-value masking")
    precondition(whole.count <= input.count + longestPlaceholder * hits.total, "masking grew the value without bound")

    var stream = engine.makeStream()
    var streamed: [UInt8] = []
    for piece in chunks(of: input[...], pattern: selector) {
        streamed += stream.process(Array(piece))
        if piece.first == 0x07 { streamed += stream.flushAfterPause() }
    }
    streamed += stream.finish()
    let streamHits = stream.takeHits().total
    precondition(!contains(streamed, secret), "a masked value came through the stream masker")
    precondition(streamed.count <= input.count + longestPlaceholder * streamHits, "stream masking grew the output without bound")
    return 0
}

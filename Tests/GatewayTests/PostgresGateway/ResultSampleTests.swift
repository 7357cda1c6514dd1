import Foundation
@testable import GatewayRecording
import NIOCore
@testable import PostgresGatewayKit
import PostgresWire
import Testing

/// The recording's result sample is written as JSON straight from the wire; it must read
/// back exactly as the cells did when they went through Strings.
@Suite("Result sample for the recording")
struct ResultSampleTests {
    static let pieces: [[UInt8]] = [
        Array("plain".utf8), Array("quote \" back \\ slash".utf8), [0x01, 0x09, 0x0A, 0x1F, 0x7F], Array("é ☃ 𝄞".utf8),
        [0xFF, 0xFE, 0x41], [0xC3], Array("jane@example.com".utf8), [], Array("1234".utf8),
    ]

    /// What the recording held before: a String per cell (invalid UTF-8 repaired).
    static func asStrings(_ rows: [[ByteBuffer?]], _ columns: [ResultColumn]) -> [[String?]] {
        rows.map { row in
            row.enumerated().map { index, value in
                guard let value else { return nil }
                return columns[index].format != 0 ? "<binary \(value.readableBytes) bytes>" : String(buffer: value)
            }
        }
    }

    @Test func readsBackAsTheCellsDid() throws {
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<300 {
            let width = Int.random(in: 1...5, using: &generator)
            let columns = (0..<width).map { ResultColumn(name: "c\($0)", typeOID: 25, format: Bool.random(using: &generator) && $0 > 0 ? 1 : 0) }
            let rows: [[ByteBuffer?]] = (0..<Int.random(in: 1...4, using: &generator)).map { _ in
                (0..<width).map { _ in
                    guard Int.random(in: 0..<6, using: &generator) > 0 else { return nil }
                    let bytes = (0..<Int.random(in: 0...3, using: &generator)).flatMap { _ in Self.pieces.randomElement(using: &generator)! }
                    return ByteBuffer(bytes: bytes)
                }
            }
            var sample = ResultSample()
            for row in rows { sample.add(row, columns: columns) }
            let (names, encoded) = sample.take()
            #expect(names == columns.map(\.name))
            let time = Date(timeIntervalSince1970: 1_795_950_000)
            let direct = RecordingEvent(type: .result, time: time, columns: names, encodedValues: encoded).jsonLine()
            let viaStrings = RecordingEvent(type: .result, time: time, columns: names, values: Self.asStrings(rows, columns)).jsonLine()
            let decodedDirect = try JSONSerialization.jsonObject(with: Data(direct)) as? NSDictionary
            let decodedStrings = try JSONSerialization.jsonObject(with: Data(viaStrings)) as? NSDictionary
            #expect(decodedDirect != nil && decodedDirect == decodedStrings, "\(String(decoding: direct, as: UTF8.self))")
        }
    }

    @Test func keepsAtMostTheCaps() {
        var sample = ResultSample()
        let columns = [ResultColumn(name: "n", typeOID: 25, format: 0)]
        for index in 0..<1000 where sample.wantsMore { sample.add([ByteBuffer(string: "row \(index)")], columns: columns) }
        let (_, encoded) = sample.take()
        let rows = (try? JSONSerialization.jsonObject(with: Data("[".utf8 + (encoded ?? []) + "]".utf8))) as? [[String]]
        #expect(rows?.count == ResultSample.maximumRows)
        var empty = ResultSample()
        #expect(empty.take().rows == nil)
    }

    /// A huge cell (a document, a blob as text) is cut in the sample, not copied whole: one
    /// 1 GiB value would otherwise cost the gateway that much memory twice over.
    @Test func longCellsAreCutAtACharacter() throws {
        let columns = [ResultColumn(name: "doc", typeOID: 25, format: 0), ResultColumn(name: "n", typeOID: 23, format: 0)]
        let cap = ResultSample.maximumCellBytes
        // ASCII, and text whose multi-byte characters straddle the cut.
        for text in [String(repeating: "x", count: 5_000_000), "a" + String(repeating: "é☃𝄞", count: cap)] {
            var sample = ResultSample()
            sample.add([ByteBuffer(string: text), ByteBuffer(string: "7")], columns: columns)
            let (_, encoded) = sample.take()
            let bytes = try #require(encoded)
            #expect(bytes.count < cap + 100)
            let rows = try #require(try JSONSerialization.jsonObject(with: Data("[".utf8 + bytes + "]".utf8)) as? [[String]])
            let cell = rows[0][0]
            let marker = "… [\(text.utf8.count) bytes]"
            #expect(cell.hasSuffix(marker))
            let kept = String(cell.dropLast(marker.count))
            #expect(text.hasPrefix(kept), "cut at a character boundary, no replacement character")
            #expect(kept.utf8.count > cap - 4 && kept.utf8.count <= cap)
            #expect(rows[0][1] == "7")
        }
        // At the cap exactly, nothing is cut.
        var sample = ResultSample()
        let exact = String(repeating: "y", count: cap)
        sample.add([ByteBuffer(string: exact), ByteBuffer(string: "8")], columns: columns)
        let rows = try JSONSerialization.jsonObject(with: Data("[".utf8 + (sample.take().rows ?? []) + "]".utf8)) as? [[String]]
        #expect(rows?.first == [exact, "8"])
    }

    /// Column names are kept from one result to the next while the columns stay the same,
    /// and follow them when they change.
    @Test func columnNamesFollowEachResult() {
        let first = [ResultColumn(name: "id", typeOID: 23, format: 0), ResultColumn(name: "email", typeOID: 25, format: 0)]
        let second = [ResultColumn(name: "count", typeOID: 20, format: 0)]
        let renamed = [ResultColumn(name: "id", typeOID: 23, format: 0), ResultColumn(name: "mail", typeOID: 25, format: 0)]
        var sample = ResultSample()
        for (columns, expected) in [(first, ["id", "email"]), (first, ["id", "email"]), (second, ["count"]), (renamed, ["id", "mail"]), (first, ["id", "email"])] {
            sample.add(columns.map { _ in ByteBuffer(string: "x") }, columns: columns)
            #expect(sample.take().columns == expected)
        }
        #expect(sample.take().columns == nil, "no rows, no columns")
    }
}

import SSHGatewayCore
import Testing

@Suite("SFTP request decoder")
struct SFTPRequestDecoderTests {
    func packet(_ type: UInt8, _ fields: [[UInt8]]) -> [UInt8] {
        var body: [UInt8] = [type, 0, 0, 0, 7]  // type, request id
        for field in fields { body += field }
        let length = UInt32(body.count)
        return [UInt8(length >> 24), UInt8(length >> 16 & 0xff), UInt8(length >> 8 & 0xff), UInt8(length & 0xff)] + body
    }

    func string(_ text: String) -> [UInt8] {
        let bytes = Array(text.utf8)
        let length = UInt32(bytes.count)
        return [UInt8(length >> 24), UInt8(length >> 16 & 0xff), UInt8(length >> 8 & 0xff), UInt8(length & 0xff)] + bytes
    }

    func uint32(_ value: UInt32) -> [UInt8] {
        [UInt8(value >> 24), UInt8(value >> 16 & 0xff), UInt8(value >> 8 & 0xff), UInt8(value & 0xff)]
    }

    @Test func reportsFileOperationsInAnyChunking() {
        var stream: [UInt8] = [0, 0, 0, 5, 1, 0, 0, 0, 3]  // INIT version 3
        stream += packet(3, [string("/etc/app.conf"), uint32(0x1a), uint32(0)])  // OPEN write|create|truncate
        stream += packet(6, [string("handle"), [0, 0, 0, 0, 0, 0, 0, 0], string(String(repeating: "d", count: 5000))])  // WRITE
        stream += packet(13, [string("/tmp/old")])  // REMOVE
        stream += packet(18, [string("/a"), string("/b")])  // RENAME
        for chunk in [1, 3, 7, 64, 4096, stream.count] {
            var decoder = SFTPRequestDecoder()
            var operations: [SFTPRequestDecoder.Operation] = []
            var index = 0
            while index < stream.count {
                let end = min(stream.count, index + chunk)
                operations += decoder.feed(stream[index..<end])
                index = end
            }
            #expect(operations.map(\.action) == ["open", "remove", "rename"], "chunk \(chunk)")
            #expect(operations.first?.path == "/etc/app.conf")
            #expect(operations.first?.detail == "write,create,truncate")
            #expect(operations.last?.detail == "/b")
        }
    }

    @Test func garbageStopsDecodingButNeverCrashes() {
        var decoder = SFTPRequestDecoder()
        #expect(decoder.feed([0, 0, 0, 0, 1, 2, 3]).isEmpty)
        #expect(decoder.gaveUp)
        var random = SFTPRequestDecoder()
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<500 {
            _ = random.feed((0..<Int.random(in: 0..<300, using: &generator)).map { _ in UInt8.random(in: 0...255, using: &generator) })
        }
    }
}

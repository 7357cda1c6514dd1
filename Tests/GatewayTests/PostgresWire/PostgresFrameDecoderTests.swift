import NIOCore
import PostgresWire
import Testing

@Suite("PostgreSQL frame codec")
struct PostgresFrameDecoderTests {
    func encode(_ frames: [PostgresFrame]) -> ByteBuffer {
        var buffer = ByteBuffer()
        for frame in frames { frame.write(into: &buffer) }
        return buffer
    }

    func decodeAll(_ bytes: ByteBuffer, side: PostgresFrameDecoder.Side, chunk: Int) throws -> [PostgresFrame] {
        var decoder = PostgresFrameDecoder(side: side)
        var pending = ByteBuffer()
        var frames: [PostgresFrame] = []
        var input = bytes
        while input.readableBytes > 0 {
            var piece = input.readSlice(length: min(chunk, input.readableBytes))!
            pending.writeBuffer(&piece)
            while let frame = try decoder.decode(buffer: &pending) { frames.append(frame) }
        }
        return frames
    }

    @Test(arguments: [1, 2, 3, 5, 7, 64, 4096])
    func clientSideWholeAndSplit(_ chunk: Int) throws {
        let startup = StartupRequest.startupFrame(parameters: [("user", "agent"), ("database", "orders")])
        let frames = [
            startup, FrontendMessages.password("token"), FrontendMessages.query("SELECT 1; SELECT 2"),
            PostgresFrame(type: PostgresMessageType.sync, payload: ByteBuffer()), FrontendMessages.terminate,
        ]
        let decoded = try decodeAll(encode(frames), side: .client, chunk: chunk)
        #expect(decoded == frames)
        guard case .startup(let major, let minor, let parameters) = try StartupRequest.parse(decoded[0]) else {
            Issue.record("not a startup message")
            return
        }
        #expect(major == 3 && minor == 0)
        #expect(parameters == ["user": "agent", "database": "orders"])
        #expect(try FrontendMessages.parsePassword(decoded[1]) == "token")
        #expect(try FrontendMessages.parseQuery(decoded[2]) == "SELECT 1; SELECT 2")
    }

    @Test func sslRequestKeepsTheStartupPhase() throws {
        var ssl = ByteBuffer()
        ssl.writeInteger(PostgresFrameDecoder.startupCodeSSL)
        let frames = [PostgresFrame(type: 0, payload: ssl), StartupRequest.startupFrame(parameters: [("user", "u")]), FrontendMessages.query("SELECT 1")]
        let decoded = try decodeAll(encode(frames), side: .client, chunk: 3)
        #expect(try StartupRequest.parse(decoded[0]) == .ssl)
        #expect(decoded[2].type == PostgresMessageType.query)
        let cancel = try StartupRequest.parse(StartupRequest.cancelFrame(processID: 7, secretKey: -9))
        #expect(cancel == .cancel(processID: 7, secretKey: -9))
    }

    @Test func lengthsAreCapped() {
        var decoder = PostgresFrameDecoder(side: .server, maximumLength: 1024)
        var huge = ByteBuffer()
        huge.writeInteger(UInt8(ascii: "D"))
        huge.writeInteger(UInt32(1 << 30))
        #expect(throws: PostgresProtocolError.self) { try decoder.decode(buffer: &huge) }
        var short = ByteBuffer()
        short.writeInteger(UInt8(ascii: "Q"))
        short.writeInteger(UInt32(3))
        #expect(throws: PostgresProtocolError.self) { try decoder.decode(buffer: &short) }
        var startupDecoder = PostgresFrameDecoder(side: .client)
        var oversizedStartup = ByteBuffer()
        oversizedStartup.writeInteger(UInt32(20_000))
        #expect(throws: PostgresProtocolError.self) { try startupDecoder.decode(buffer: &oversizedStartup) }
    }

    @Test func malformedPayloadsAreErrorsNotCrashes() {
        let truncatedRow = PostgresFrame(type: PostgresMessageType.dataRow, payload: ByteBuffer(bytes: [0, 2, 0, 0, 0, 9, 65]))
        #expect(throws: PostgresProtocolError.self) { try RowMessages.parseDataRow(truncatedRow) }
        let negativeCount = PostgresFrame(type: PostgresMessageType.rowDescription, payload: ByteBuffer(bytes: [0xFF, 0xFF]))
        #expect(throws: PostgresProtocolError.self) { try RowMessages.parseRowDescription(negativeCount) }
        let unterminated = PostgresFrame(type: PostgresMessageType.query, payload: ByteBuffer(string: "SELECT 1"))
        #expect(throws: PostgresProtocolError.self) { try FrontendMessages.parseQuery(unterminated) }
        let badBind = PostgresFrame(type: PostgresMessageType.bind, payload: ByteBuffer(bytes: [0, 0, 0, 5]))
        #expect(throws: PostgresProtocolError.self) { try FrontendMessages.parseBind(badBind) }
        #expect(throws: PostgresProtocolError.self) { try StartupRequest.parse(PostgresFrame(type: 0, payload: ByteBuffer(bytes: [0, 2, 0, 0]))) }
    }

    @Test func dataRowRoundTrip() throws {
        let values: [ByteBuffer?] = [ByteBuffer(string: "1"), nil, ByteBuffer(string: "jane@example.com"), ByteBuffer()]
        let frame = RowMessages.dataRow(values)
        #expect(try RowMessages.parseDataRow(frame) == values)
    }

    @Test("parsing rows into one reused array gives each row's values alone, and nothing after a malformed row")
    func dataRowIntoReusedArray() throws {
        let rows: [[ByteBuffer?]] = [
            [ByteBuffer(string: "1"), nil, ByteBuffer(string: "jane@example.com")],
            [ByteBuffer(string: "22")],
            [],
            [nil, nil, ByteBuffer(string: "x"), ByteBuffer(), ByteBuffer(string: "last")],
        ]
        var values: [ByteBuffer?] = []
        for row in rows {
            try RowMessages.parseDataRow(RowMessages.dataRow(row), into: &values)
            #expect(values == row)
        }
        let truncated = PostgresFrame(type: PostgresMessageType.dataRow, payload: ByteBuffer(bytes: [0, 2, 0, 0, 0, 1, 65, 0, 0, 0, 9, 65]))
        #expect(throws: PostgresProtocolError.self) { try RowMessages.parseDataRow(truncated, into: &values) }
        #expect(values.isEmpty)
        var trailing = RowMessages.dataRow([ByteBuffer(string: "a")])
        trailing.payload.writeInteger(UInt8(0))
        #expect(throws: PostgresProtocolError.self) { try RowMessages.parseDataRow(trailing, into: &values) }
        #expect(values.isEmpty)
    }

    @Test func notificationRoundTripAndTruncation() throws {
        let notification = BackendMessages.Notification(processID: 4242, channel: "ch", payload: "jane@example.com")
        let frame = BackendMessages.notification(notification)
        #expect(try BackendMessages.parseNotification(frame) == notification)
        var cut = frame.payload
        cut.moveWriterIndex(to: cut.writerIndex - 1)
        #expect(throws: PostgresProtocolError.self) { try BackendMessages.parseNotification(PostgresFrame(type: frame.type, payload: cut)) }
    }

    @Test func errorFieldsRoundTrip() {
        let frame = BackendMessages.error("42501", "blocked", detail: "d", hint: "h")
        let fields = BackendMessages.parseFields(frame)
        #expect(fields["C"] == "42501")
        #expect(fields["M"] == "blocked")
        #expect(fields["S"] == "ERROR")
        #expect(fields["D"] == "d")
        #expect(fields["H"] == "h")
    }
}

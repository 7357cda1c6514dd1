import Foundation

/// A PostgreSQL front end written byte by byte over `RawTCPClient`, for tests that send what
/// libpq never would (truncated messages, invalid UTF-8, thousands of queries without reading).
public final class PostgresWireClient {
    public struct Message: Sendable {
        public var type: UInt8
        public var body: [UInt8]

        /// An ErrorResponse's or NoticeResponse's field (`C` for the SQLSTATE, `M` for the message).
        public func field(_ code: Character) -> String? {
            var index = 0
            while index < body.count, body[index] != 0 {
                let name = body[index]
                let end = body[(index + 1)...].firstIndex(of: 0) ?? body.count
                if name == UInt8(ascii: String(code).unicodeScalars.first!) { return String(decoding: body[(index + 1)..<end], as: UTF8.self) }
                index = end + 1
            }
            return nil
        }
    }

    public let connection: RawTCPClient
    private var pending: [UInt8] = []
    private var offset = 0
    public private(set) var closed = false

    public init(port: Int) throws {
        connection = try RawTCPClient(port: port)
    }

    /// One front-end message: type byte, length, body.
    public static func message(_ type: Character, _ body: [UInt8]) -> [UInt8] {
        let length = UInt32(body.count + 4)
        return [UInt8(ascii: String(type).unicodeScalars.first!), UInt8(length >> 24), UInt8(length >> 16 & 0xFF), UInt8(length >> 8 & 0xFF), UInt8(length & 0xFF)] + body
    }

    /// A simple-protocol Query of these bytes (not necessarily UTF-8).
    public static func query(_ sql: [UInt8]) -> [UInt8] { message("Q", sql + [0]) }

    /// Start-up and password (the token) until the first ReadyForQuery; the messages on the way.
    @discardableResult
    public func authenticate(database: String, token: String) throws -> [Message] {
        try connection.send(RawTCPClient.postgresStartup([("user", "agent"), ("database", database)]))
        var seen = try read(until: { $0.type == UInt8(ascii: "R") })
        try connection.send(Self.message("p", Array(token.utf8) + [0]))
        seen += try read(until: { $0.type == UInt8(ascii: "Z") })
        return seen
    }

    /// Messages until one satisfies `done` (included), the server closes, or `seconds` pass
    /// without a byte.
    public func read(seconds: Double = 10, until done: (Message) -> Bool) throws -> [Message] {
        var messages: [Message] = []
        while true {
            while let message = next() {
                messages.append(message)
                if done(message) { return messages }
            }
            guard !closed, receive(seconds: seconds) else { return messages }
        }
    }

    /// Counts ReadyForQuery messages until `count` have arrived (or the server stops),
    /// keeping none of the messages: for results too large to hold.
    public func drain(readyForQuery count: Int, seconds: Double = 30) -> (ready: Int, dataRows: Int, errors: Int) {
        var ready = 0, rows = 0, errors = 0
        while ready < count {
            while ready < count, let message = next() {
                switch message.type {
                case UInt8(ascii: "Z"): ready += 1
                case UInt8(ascii: "D"): rows += 1
                case UInt8(ascii: "E"): errors += 1
                default: break
                }
            }
            guard ready < count, !closed, receive(seconds: seconds) else { break }
        }
        return (ready, rows, errors)
    }

    /// Waits up to `seconds` for bytes; false when none came (or the server closed).
    private func receive(seconds: Double) -> Bool {
        let (bytes, ended) = connection.readSome(seconds: seconds)
        if ended { closed = true }
        pending += bytes
        return !bytes.isEmpty
    }

    private func next() -> Message? {
        guard pending.count - offset >= 5 else { return nil }
        let length = Int(pending[offset + 1]) << 24 | Int(pending[offset + 2]) << 16 | Int(pending[offset + 3]) << 8 | Int(pending[offset + 4])
        guard pending.count - offset >= 1 + length else { return nil }
        let message = Message(type: pending[offset], body: Array(pending[(offset + 5)..<(offset + 1 + length)]))
        offset += 1 + length
        if offset > 1 << 20 {
            pending.removeFirst(offset)
            offset = 0
        }
        return message
    }
}

import NIOCore

/// One PostgreSQL protocol message as it travels: a type byte (0 for the untyped
/// start-up messages) and its payload, without the length word.
public struct PostgresFrame: Sendable, Equatable {
    public var type: UInt8
    public var payload: ByteBuffer

    public init(type: UInt8, payload: ByteBuffer) {
        self.type = type
        self.payload = payload
    }

    public init(_ type: Character, payload: ByteBuffer = ByteBuffer()) {
        self.type = type.asciiValue ?? 0
        self.payload = payload
    }

    public var isStartupPhase: Bool { type == 0 }

    /// Marks a frame whose payload is written as is, without type or length: the one-byte
    /// answers to SSLRequest and GSSENCRequest.
    static let rawType: UInt8 = 0xFF

    /// A single byte sent as is (`N` refusing SSL or GSS encryption).
    public static func rawByte(_ byte: UInt8) -> PostgresFrame {
        var payload = ByteBuffer()
        payload.writeInteger(byte)
        return PostgresFrame(type: rawType, payload: payload)
    }

    /// Writes the frame with its length word.
    public func write(into buffer: inout ByteBuffer) {
        if type != Self.rawType {
            if type != 0 { buffer.writeInteger(type) }
            buffer.writeInteger(UInt32(payload.readableBytes + 4))
        }
        buffer.writeImmutableBuffer(payload)
    }
}

/// Message type bytes, frontend (client → server) and backend (server → client).
public enum PostgresMessageType {
    // Frontend
    public static let query = UInt8(ascii: "Q")
    public static let parse = UInt8(ascii: "P")
    public static let bind = UInt8(ascii: "B")
    public static let describe = UInt8(ascii: "D")
    public static let execute = UInt8(ascii: "E")
    public static let sync = UInt8(ascii: "S")
    public static let flush = UInt8(ascii: "H")
    public static let close = UInt8(ascii: "C")
    public static let terminate = UInt8(ascii: "X")
    public static let password = UInt8(ascii: "p")
    public static let copyData = UInt8(ascii: "d")
    public static let copyDone = UInt8(ascii: "c")
    public static let copyFail = UInt8(ascii: "f")
    public static let functionCall = UInt8(ascii: "F")
    // Backend
    public static let authentication = UInt8(ascii: "R")
    public static let parameterStatus = UInt8(ascii: "S")
    public static let backendKeyData = UInt8(ascii: "K")
    public static let readyForQuery = UInt8(ascii: "Z")
    public static let rowDescription = UInt8(ascii: "T")
    public static let dataRow = UInt8(ascii: "D")
    public static let commandComplete = UInt8(ascii: "C")
    public static let errorResponse = UInt8(ascii: "E")
    public static let noticeResponse = UInt8(ascii: "N")
    public static let emptyQuery = UInt8(ascii: "I")
    public static let portalSuspended = UInt8(ascii: "s")
    public static let noData = UInt8(ascii: "n")
    public static let parameterDescription = UInt8(ascii: "t")
    public static let parseComplete = UInt8(ascii: "1")
    public static let bindComplete = UInt8(ascii: "2")
    public static let closeComplete = UInt8(ascii: "3")
    public static let copyInResponse = UInt8(ascii: "G")
    public static let copyOutResponse = UInt8(ascii: "H")
    public static let copyBothResponse = UInt8(ascii: "W")
    public static let notification = UInt8(ascii: "A")
    public static let negotiateProtocolVersion = UInt8(ascii: "v")
}

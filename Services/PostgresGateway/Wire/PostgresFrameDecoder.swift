import NIOCore

/// Splits a byte stream into PostgreSQL frames. Every length is checked against a cap
/// before anything is buffered for it; a peer's length word is never trusted.
///
/// On the client side it starts in the untyped start-up phase (SSLRequest, GSSENCRequest,
/// CancelRequest, StartupMessage) and switches to typed messages after a StartupMessage.
public struct PostgresFrameDecoder: NIOSingleStepByteToMessageDecoder {
    public typealias InboundOut = PostgresFrame

    public enum Side: Sendable {
        /// Decoding what a client sends (starts with untyped start-up messages).
        case client
        /// Decoding what a server sends (always typed).
        case server
    }

    public static let startupCodeSSL: UInt32 = 80_877_103
    public static let startupCodeGSSENC: UInt32 = 80_877_104
    public static let startupCodeCancel: UInt32 = 80_877_102

    /// PostgreSQL's own limit on one message is 1 GiB.
    public let maximumLength: Int
    /// Start-up messages are small; PostgreSQL caps them at 10 000 bytes.
    public static let maximumStartupLength = 10_000
    /// Until the client has authenticated, its typed messages (the password message carrying
    /// the token) are at most this long: PostgreSQL's own `PG_MAX_AUTH_TOKEN_LENGTH`. An
    /// unauthenticated client cannot make the gateway buffer more.
    public static let maximumAuthenticationLength = 65_535
    private var inStartupPhase: Bool
    private var typedLimit: Int

    public init(side: Side, maximumLength: Int = 1 << 30) {
        self.inStartupPhase = side == .client
        self.maximumLength = maximumLength
        self.typedLimit = side == .client ? min(maximumLength, Self.maximumAuthenticationLength) : maximumLength
    }

    /// The client is authenticated: its messages may be as long as `maximumLength`.
    public mutating func authenticated() {
        typedLimit = maximumLength
    }

    public mutating func decode(buffer: inout ByteBuffer) throws -> PostgresFrame? {
        if inStartupPhase {
            guard let length = buffer.getInteger(at: buffer.readerIndex, as: UInt32.self) else { return nil }
            guard length >= 8, length <= Self.maximumStartupLength else {
                throw PostgresProtocolError.badLength(Int(length), type: 0)
            }
            guard buffer.readableBytes >= Int(length) else { return nil }
            buffer.moveReaderIndex(forwardBy: 4)
            guard let payload = buffer.readSlice(length: Int(length) - 4) else { return nil }
            let code = payload.getInteger(at: payload.readerIndex, as: UInt32.self) ?? 0
            if code >> 16 == 3 { inStartupPhase = false }
            return PostgresFrame(type: 0, payload: payload)
        }
        guard buffer.readableBytes >= 5,
              let type = buffer.getInteger(at: buffer.readerIndex, as: UInt8.self),
              let length = buffer.getInteger(at: buffer.readerIndex + 1, as: UInt32.self) else { return nil }
        guard length >= 4, Int(length) <= typedLimit else {
            throw PostgresProtocolError.badLength(Int(length), type: type)
        }
        guard buffer.readableBytes >= Int(length) + 1 else { return nil }
        buffer.moveReaderIndex(forwardBy: 5)
        guard let payload = buffer.readSlice(length: Int(length) - 4) else { return nil }
        return PostgresFrame(type: type, payload: payload)
    }

    public mutating func decodeLast(buffer: inout ByteBuffer, seenEOF: Bool) throws -> PostgresFrame? {
        try decode(buffer: &buffer)
    }
}

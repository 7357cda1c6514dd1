import NIOCore

/// Parsers for what a client sends that the gateway inspects, and encoders for what the
/// gateway sends upstream as a client.
public enum FrontendMessages {
    /// PasswordMessage: the cleartext password (here: the OIDC token).
    public static func parsePassword(_ frame: PostgresFrame) throws(PostgresProtocolError) -> String {
        guard frame.type == PostgresMessageType.password else { throw .unexpected("message while waiting for the password") }
        var payload = frame.payload
        guard let password = payload.readCString() else { throw .malformed("password message") }
        return password
    }

    public static func parseQuery(_ frame: PostgresFrame) throws(PostgresProtocolError) -> String {
        var payload = frame.payload
        guard let query = payload.readCString() else { throw .malformed("query message") }
        return query
    }

    public struct Parse: Sendable, Equatable {
        public var statement: String
        public var query: String
    }

    public static func parseParse(_ frame: PostgresFrame) throws(PostgresProtocolError) -> Parse {
        var payload = frame.payload
        guard let name = payload.readCString(), let query = payload.readCString() else { throw .malformed("parse message") }
        return Parse(statement: name, query: query)
    }

    public struct Bind: Sendable, Equatable {
        public var portal: String
        public var statement: String
        /// Result column format codes: empty = all text, one = applies to all.
        public var resultFormats: [Int16]
    }

    public static func parseBind(_ frame: PostgresFrame) throws(PostgresProtocolError) -> Bind {
        var payload = frame.payload
        guard let portal = payload.readCString(), let statement = payload.readCString(),
              let formatCount = payload.readInteger(as: Int16.self), formatCount >= 0,
              payload.readSlice(length: Int(formatCount) * 2) != nil,
              let parameterCount = payload.readInteger(as: Int16.self), parameterCount >= 0 else {
            throw .malformed("bind message")
        }
        guard payload.skipValues(parameterCount) else { throw .malformed("bind parameters") }
        guard let resultCount = payload.readInteger(as: Int16.self), resultCount >= 0 else { throw .malformed("bind result formats") }
        var formats: [Int16] = []
        for _ in 0..<resultCount {
            guard let format = payload.readInteger(as: Int16.self) else { throw .malformed("bind result formats") }
            formats.append(format)
        }
        return Bind(portal: portal, statement: statement, resultFormats: formats)
    }

    /// FunctionCall (the fast-path interface): the function's OID and its number of arguments.
    public struct FunctionCall: Sendable, Equatable {
        public var function: UInt32
        public var argumentCount: Int

        public init(function: UInt32, argumentCount: Int) {
            self.function = function
            self.argumentCount = argumentCount
        }
    }

    public static func parseFunctionCall(_ frame: PostgresFrame) throws(PostgresProtocolError) -> FunctionCall {
        var payload = frame.payload
        guard let function = payload.readInteger(as: UInt32.self),
              let formatCount = payload.readInteger(as: Int16.self), formatCount >= 0,
              payload.readSlice(length: Int(formatCount) * 2) != nil,
              let argumentCount = payload.readInteger(as: Int16.self), argumentCount >= 0 else {
            throw .malformed("function call message")
        }
        guard payload.skipValues(argumentCount) else { throw .malformed("function call arguments") }
        guard payload.readInteger(as: Int16.self) != nil else { throw .malformed("function call result format") }
        return FunctionCall(function: function, argumentCount: Int(argumentCount))
    }

    /// Describe or Close: the kind ('S' statement, 'P' portal) and the name.
    public static func parseTarget(_ frame: PostgresFrame) throws(PostgresProtocolError) -> (kind: UInt8, name: String) {
        var payload = frame.payload
        guard let kind = payload.readInteger(as: UInt8.self), let name = payload.readCString() else { throw .malformed("describe/close message") }
        return (kind, name)
    }

    public static func parseExecute(_ frame: PostgresFrame) throws(PostgresProtocolError) -> String {
        var payload = frame.payload
        guard let portal = payload.readCString() else { throw .malformed("execute message") }
        return portal
    }

    public static func password(_ text: String) -> PostgresFrame {
        var payload = ByteBuffer()
        payload.writeCString(text)
        return PostgresFrame(type: PostgresMessageType.password, payload: payload)
    }

    public static func saslInitialResponse(mechanism: String, data: [UInt8]) -> PostgresFrame {
        var payload = ByteBuffer()
        payload.writeCString(mechanism)
        payload.writeInteger(Int32(data.count))
        payload.writeBytes(data)
        return PostgresFrame(type: PostgresMessageType.password, payload: payload)
    }

    public static func saslResponse(_ data: [UInt8]) -> PostgresFrame {
        var payload = ByteBuffer()
        payload.writeBytes(data)
        return PostgresFrame(type: PostgresMessageType.password, payload: payload)
    }

    public static func query(_ text: String) -> PostgresFrame {
        var payload = ByteBuffer()
        payload.writeCString(text)
        return PostgresFrame(type: PostgresMessageType.query, payload: payload)
    }

    public static let terminate = PostgresFrame(type: PostgresMessageType.terminate, payload: ByteBuffer())
}

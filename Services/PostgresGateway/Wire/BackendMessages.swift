import NIOCore

/// Encoders for what the gateway itself says to a client, and parsers for what a server says.
public enum BackendMessages {
    public static func authenticationOk() -> PostgresFrame { authentication(0) }
    public static func authenticationCleartextPassword() -> PostgresFrame { authentication(3) }

    static func authentication(_ code: Int32, extra: ByteBuffer? = nil) -> PostgresFrame {
        var payload = ByteBuffer()
        payload.writeInteger(code)
        if var extra { payload.writeBuffer(&extra) }
        return PostgresFrame(type: PostgresMessageType.authentication, payload: payload)
    }

    public static func parameterStatus(_ name: String, _ value: String) -> PostgresFrame {
        var payload = ByteBuffer()
        payload.writeCString(name)
        payload.writeCString(value)
        return PostgresFrame(type: PostgresMessageType.parameterStatus, payload: payload)
    }

    public static func backendKeyData(processID: Int32, secretKey: Int32) -> PostgresFrame {
        var payload = ByteBuffer()
        payload.writeInteger(processID)
        payload.writeInteger(secretKey)
        return PostgresFrame(type: PostgresMessageType.backendKeyData, payload: payload)
    }

    public static func readyForQuery(_ status: UInt8 = UInt8(ascii: "I")) -> PostgresFrame {
        var payload = ByteBuffer()
        payload.writeInteger(status)
        return PostgresFrame(type: PostgresMessageType.readyForQuery, payload: payload)
    }

    public static func negotiateProtocolVersion(minor: Int32, unsupported: [String]) -> PostgresFrame {
        var payload = ByteBuffer()
        payload.writeInteger(minor)
        payload.writeInteger(Int32(unsupported.count))
        for option in unsupported { payload.writeCString(option) }
        return PostgresFrame(type: PostgresMessageType.negotiateProtocolVersion, payload: payload)
    }

    /// ErrorResponse (or NoticeResponse) with severity, SQLSTATE, message and optional detail/hint.
    public static func error(_ code: String, _ message: String, severity: String = "ERROR", detail: String? = nil, hint: String? = nil, notice: Bool = false) -> PostgresFrame {
        var payload = ByteBuffer()
        for (field, value) in [("S", severity), ("V", severity), ("C", code), ("M", message)] {
            payload.writeInteger(Character(field).asciiValue!)
            payload.writeCString(value)
        }
        if let detail {
            payload.writeInteger(UInt8(ascii: "D"))
            payload.writeCString(detail)
        }
        if let hint {
            payload.writeInteger(UInt8(ascii: "H"))
            payload.writeCString(hint)
        }
        payload.writeInteger(UInt8(0))
        return PostgresFrame(type: notice ? PostgresMessageType.noticeResponse : PostgresMessageType.errorResponse, payload: payload)
    }

    public static func notice(_ message: String, code: String = "00000", detail: String? = nil) -> PostgresFrame {
        error(code, message, severity: "NOTICE", detail: detail, notice: true)
    }

    /// The fields of an ErrorResponse or NoticeResponse, by field letter.
    /// NotificationResponse (LISTEN/NOTIFY): the notifying backend, the channel, the payload.
    public struct Notification: Sendable, Equatable {
        public var processID: Int32
        public var channel: String
        public var payload: String

        public init(processID: Int32, channel: String, payload: String) {
            self.processID = processID
            self.channel = channel
            self.payload = payload
        }
    }

    public static func parseNotification(_ frame: PostgresFrame) throws(PostgresProtocolError) -> Notification {
        var payload = frame.payload
        guard let processID = payload.readInteger(as: Int32.self), let channel = payload.readCString(), let text = payload.readCString() else {
            throw .malformed("notification")
        }
        return Notification(processID: processID, channel: channel, payload: text)
    }

    public static func notification(_ notification: Notification) -> PostgresFrame {
        var payload = ByteBuffer()
        payload.writeInteger(notification.processID)
        payload.writeCString(notification.channel)
        payload.writeCString(notification.payload)
        return PostgresFrame(type: PostgresMessageType.notification, payload: payload)
    }

    /// A ParameterStatus: the setting's name and its new value.
    public static func parseParameterStatus(_ frame: PostgresFrame) throws(PostgresProtocolError) -> (name: String, value: String) {
        var payload = frame.payload
        guard let name = payload.readCString(), let value = payload.readCString(), payload.readableBytes == 0 else {
            throw .malformed("parameter status")
        }
        return (name, value)
    }

    public static func parseFields(_ frame: PostgresFrame) -> [Character: String] {
        var payload = frame.payload
        var fields: [Character: String] = [:]
        while let code = payload.readInteger(as: UInt8.self), code != 0 {
            guard let value = payload.readCString() else { break }
            fields[Character(UnicodeScalar(code))] = value
        }
        return fields
    }

    public enum AuthenticationRequest: Sendable, Equatable {
        case ok
        case cleartextPassword
        case md5Password(salt: [UInt8])
        case sasl(mechanisms: [String])
        case saslContinue(data: [UInt8])
        case saslFinal(data: [UInt8])
        case unsupported(Int32)
    }

    public static func parseAuthentication(_ frame: PostgresFrame) throws(PostgresProtocolError) -> AuthenticationRequest {
        var payload = frame.payload
        guard let code = payload.readInteger(as: Int32.self) else { throw .malformed("authentication request") }
        switch code {
        case 0: return .ok
        case 3: return .cleartextPassword
        case 5:
            guard let salt = payload.readBytes(length: 4) else { throw .malformed("md5 salt") }
            return .md5Password(salt: salt)
        case 10:
            var mechanisms: [String] = []
            while payload.readableBytes > 1, let name = payload.readCString() { mechanisms.append(name) }
            return .sasl(mechanisms: mechanisms)
        case 11: return .saslContinue(data: payload.readBytes(length: payload.readableBytes) ?? [])
        case 12: return .saslFinal(data: payload.readBytes(length: payload.readableBytes) ?? [])
        default: return .unsupported(code)
        }
    }
}

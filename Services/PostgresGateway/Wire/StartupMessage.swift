import NIOCore

/// The untyped messages a client opens with.
public enum StartupRequest: Sendable, Equatable {
    case ssl
    case gssEncryption
    case cancel(processID: Int32, secretKey: Int32)
    /// A StartupMessage: protocol version and parameters (`user`, `database`, `application_name`...).
    case startup(major: UInt16, minor: UInt16, parameters: [String: String])

    public static func parse(_ frame: PostgresFrame) throws(PostgresProtocolError) -> StartupRequest {
        var payload = frame.payload
        guard let code = payload.readInteger(as: UInt32.self) else { throw .malformed("start-up message") }
        switch code {
        case PostgresFrameDecoder.startupCodeSSL: return .ssl
        case PostgresFrameDecoder.startupCodeGSSENC: return .gssEncryption
        case PostgresFrameDecoder.startupCodeCancel:
            guard let pid = payload.readInteger(as: Int32.self), let key = payload.readInteger(as: Int32.self) else {
                throw .malformed("cancel request")
            }
            return .cancel(processID: pid, secretKey: key)
        default:
            let major = UInt16(code >> 16)
            let minor = UInt16(code & 0xFFFF)
            guard major == 3 else { throw .unexpected("protocol version \(major).\(minor)") }
            var parameters: [String: String] = [:]
            while payload.readableBytes > 1 {
                guard let key = payload.readCString(), let value = payload.readCString() else { throw .malformed("start-up parameters") }
                parameters[key] = value
            }
            return .startup(major: major, minor: minor, parameters: parameters)
        }
    }

    /// A StartupMessage frame for protocol 3.0.
    public static func startupFrame(parameters: [(String, String)]) -> PostgresFrame {
        var payload = ByteBuffer()
        payload.writeInteger(UInt32(3 << 16))
        for (key, value) in parameters {
            payload.writeCString(key)
            payload.writeCString(value)
        }
        payload.writeInteger(UInt8(0))
        return PostgresFrame(type: 0, payload: payload)
    }

    public static func cancelFrame(processID: Int32, secretKey: Int32) -> PostgresFrame {
        var payload = ByteBuffer()
        payload.writeInteger(PostgresFrameDecoder.startupCodeCancel)
        payload.writeInteger(processID)
        payload.writeInteger(secretKey)
        return PostgresFrame(type: 0, payload: payload)
    }
}

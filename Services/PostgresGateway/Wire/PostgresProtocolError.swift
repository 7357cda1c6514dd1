public enum PostgresProtocolError: Error, Sendable, Equatable, CustomStringConvertible {
    case badLength(Int, type: UInt8)
    case malformed(String)
    case unexpected(String)

    public var description: String {
        switch self {
        case .badLength(let length, let type):
            "invalid message length \(length)" + (type == 0 ? " in a start-up message" : " for message type '\(Character(UnicodeScalar(type)))'")
        case .malformed(let what): "malformed \(what)"
        case .unexpected(let what): "unexpected \(what)"
        }
    }
}

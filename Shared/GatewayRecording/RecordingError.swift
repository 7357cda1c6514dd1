public enum RecordingError: Error, Sendable, CustomStringConvertible {
    case io(String)
    case sealed
    case badKey(String)

    public var description: String {
        switch self {
        case .io(let message): message
        case .sealed: "the recording is already sealed"
        case .badKey(let message): "recording signing key: \(message)"
        }
    }
}

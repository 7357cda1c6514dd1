public enum StateStoreError: Error, CustomStringConvertible {
    case unsupportedURL(String)
    case migrationFailed(String)

    public var description: String {
        switch self {
        case .unsupportedURL(let url): "unsupported state URL \(url)"
        case .migrationFailed(let reason): "state store migration failed: \(reason)"
        }
    }
}

public enum StateStoreError: Error, CustomStringConvertible {
    case unsupportedURL(String)
    case migrationFailed(String)
    /// The lock that lets one process at a time open or migrate an SQLite store.
    case setupLock(String)

    public var description: String {
        switch self {
        case .unsupportedURL(let url): "unsupported state URL \(url)"
        case .migrationFailed(let reason): "state store migration failed: \(reason)"
        case .setupLock(let reason): "state store lock: \(reason)"
        }
    }
}

public enum StateStoreError: Error, CustomStringConvertible {
    case unsupportedURL(String)
    case migrationFailed(String)
    /// The lock that lets one process at a time open or migrate an SQLite store.
    case setupLock(String)
    /// The store did not answer in time.
    case unavailable(String)

    public var description: String {
        switch self {
        case .unsupportedURL(let url): "unsupported state URL \(url)"
        case .migrationFailed(let reason): "state store migration failed: \(reason)"
        case .setupLock(let reason): "state store lock: \(reason)"
        case .unavailable(let reason): reason
        }
    }
}

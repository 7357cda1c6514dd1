import Logging

/// Opens the store a `state.url` names: `sqlite:///path` or `postgres://...`.
public enum StateStoreFactory {
    public static func open(url: String, sqlitePath: String? = nil, logger: Logger = Logger(label: "gateway.state")) throws -> any StateStore {
        if url.hasPrefix("postgres://") || url.hasPrefix("postgresql://") {
            return try PostgresStateStore(url: url, logger: logger)
        }
        if let sqlitePath {
            return try SQLiteStateStore(path: sqlitePath)
        }
        if url.hasPrefix("sqlite://") {
            return try SQLiteStateStore(path: String(url.dropFirst("sqlite://".count)))
        }
        throw StateStoreError.unsupportedURL(url)
    }
}

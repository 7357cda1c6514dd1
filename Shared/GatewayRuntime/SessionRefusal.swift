/// Why a session admitted by its token and groups still may not start: the gateway could not
/// keep its evidence. Each gateway answers it in its protocol's own way (a PostgreSQL
/// `ErrorResponse`, the SSH channel's stderr, a Kubernetes 503 `Status`).
public struct SessionRefusal: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Reason: Sendable, Equatable {
        /// The state store did not take the session's row: new sessions fail closed.
        case stateStore
        /// The recording could not be started and the connection requires one.
        case recording
    }

    public var reason: Reason
    /// What the client is told (without the gateway's prefix, without server paths).
    public var message: String

    public init(reason: Reason, message: String) {
        self.reason = reason
        self.message = message
    }

    public var description: String { message }

    /// The SQLSTATE a PostgreSQL client sees: `57P03` (cannot connect now) or `53100` (disk full).
    public var sqlState: String {
        switch reason {
        case .stateStore: "57P03"
        case .recording: "53100"
        }
    }
}

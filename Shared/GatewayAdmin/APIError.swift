import Hummingbird

/// An admin API error answered as `{"error": "..."}` with its status.
public struct APIError: Error, Sendable {
    public var status: HTTPResponse.Status
    public var message: String

    public init(_ status: HTTPResponse.Status, _ message: String) {
        self.status = status
        self.message = message
    }
}

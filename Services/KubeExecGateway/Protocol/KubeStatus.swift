import GatewayJSON

/// A Kubernetes `Status` object (`meta/v1`): how the API server, and the gateway in its
/// place, says a request failed (`kubectl` prints its message) or how an exec ended (on the
/// error channel: `Success`, or `NonZeroExitCode` with an `ExitCode` cause).
public struct KubeStatus: Sendable, Equatable {
    public var success: Bool
    public var message: String?
    /// `Unauthorized`, `Forbidden`, `NotFound`, `NonZeroExitCode`, ...
    public var reason: String?
    public var code: Int?
    /// `details.causes`: (reason, message) pairs.
    public var causes: [(reason: String, message: String)]

    public init(success: Bool, message: String? = nil, reason: String? = nil, code: Int? = nil, causes: [(reason: String, message: String)] = []) {
        self.success = success
        self.message = message
        self.reason = reason
        self.code = code
        self.causes = causes
    }

    public static func == (lhs: KubeStatus, rhs: KubeStatus) -> Bool {
        lhs.success == rhs.success && lhs.message == rhs.message && lhs.reason == rhs.reason && lhs.code == rhs.code
            && lhs.causes.map(\.reason) == rhs.causes.map(\.reason) && lhs.causes.map(\.message) == rhs.causes.map(\.message)
    }

    /// A refused request: 401 Unauthorized, 403 Forbidden, ...
    public static func failure(code: Int, reason: String, message: String) -> KubeStatus {
        KubeStatus(success: false, message: message, reason: reason, code: code)
    }

    /// How an exec ended, for the error channel.
    public static func exit(_ status: Int) -> KubeStatus {
        guard status != 0 else { return KubeStatus(success: true) }
        return KubeStatus(
            success: false, message: "command terminated with non-zero exit code: error executing command [exit \(status)], exit code \(status)",
            reason: "NonZeroExitCode", causes: [("ExitCode", "\(status)")]
        )
    }

    public var json: [UInt8] {
        var out: [UInt8] = []
        out.append(contentsOf: #"{"kind":"Status","apiVersion":"v1","metadata":{},"status":"#.utf8)
        out.append(contentsOf: (success ? #""Success""# : #""Failure""#).utf8)
        if let message {
            out.append(contentsOf: #","message":"#.utf8)
            JSONString.append(message, to: &out)
        }
        if let reason {
            out.append(contentsOf: #","reason":"#.utf8)
            JSONString.append(reason, to: &out)
        }
        if !causes.isEmpty {
            out.append(contentsOf: #","details":{"causes":["#.utf8)
            for (index, cause) in causes.enumerated() {
                if index > 0 { out.append(UInt8(ascii: ",")) }
                out.append(contentsOf: #"{"reason":"#.utf8)
                JSONString.append(cause.reason, to: &out)
                out.append(contentsOf: #","message":"#.utf8)
                JSONString.append(cause.message, to: &out)
                out.append(UInt8(ascii: "}"))
            }
            out.append(contentsOf: "]}".utf8)
        }
        if let code { out.append(contentsOf: #","code":\#(code)"#.utf8) }
        out.append(UInt8(ascii: "}"))
        return out
    }
}

/// The WebSocket subprotocols of the Kubernetes exec, attach and port-forward streams
/// (`k8s.io/apimachinery/pkg/util/remotecommand`): every message carries one channel's data
/// behind a channel byte; the base64 variants send text messages whose first character is the
/// channel's digit and the rest the data in base64; v5 adds a close signal (channel 255, then
/// the channel being closed).
public enum KubeStreamProtocol: String, Sendable, CaseIterable {
    case v5 = "v5.channel.k8s.io"
    case v4 = "v4.channel.k8s.io"
    case v4Base64 = "v4.base64.channel.k8s.io"
    case base64 = "base64.channel.k8s.io"
    case v1 = "channel.k8s.io"

    /// The gateway's preference, newest first (as the API server's).
    public static let preference: [KubeStreamProtocol] = [.v5, .v4, .v4Base64, .base64, .v1]

    /// The protocol to answer an upgrade that offers `offered` (the header's comma-separated list).
    public static func negotiate(_ offered: String) -> KubeStreamProtocol? {
        let names = Set(offered.split(separator: ",").map { String($0.filter { $0 != " " && $0 != "\t" }) })
        return preference.first { names.contains($0.rawValue) }
    }

    /// The version to answer a SPDY upgrade that offers `offered` (its `X-Stream-Protocol-Version`
    /// values): v5 or v4, the versions whose exit is a `Status` (every kubectl since 1.4 offers v4).
    public static func negotiateSPDY(_ offered: [String]) -> KubeStreamProtocol? {
        [.v5, .v4].first { offered.contains($0.rawValue) }
    }

    public var isBase64: Bool { self == .v4Base64 || self == .base64 }
    /// v4 and later report the exit on the error channel as a `Status` object (v1–v3: text).
    public var reportsStatus: Bool { self != .v1 && self != .base64 }
    public var hasCloseSignal: Bool { self == .v5 }
}

/// The channels of an exec stream.
public enum KubeStreamChannel: UInt8, Sendable {
    case stdin = 0, stdout = 1, stderr = 2, error = 3, resize = 4
    /// v5: "this channel is done" (the byte after it names the channel).
    case close = 255
}

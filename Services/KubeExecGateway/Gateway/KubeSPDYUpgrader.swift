import KubeExecGatewayCore
import NIOCore
import NIOHTTP1

/// The SPDY/3.1 upgrade of an exec or attach request (kubectl before 1.30, and 1.30+ falling
/// back): the request names its stream protocols in `X-Stream-Protocol-Version` headers, the
/// 101 answer names the one chosen (v5 or v4: the exit as a `Status`; `portforward.k8s.io`
/// for a port forward), and the connection then carries SPDY frames, read by
/// `KubeSPDYStreamCodec` (passed through by `KubePortForwardRelay`). Admission and the command's check are
/// `KubeExecUpgrade`'s, as for a WebSocket.
struct KubeSPDYUpgrader: HTTPServerProtocolUpgrader, Sendable {
    static let name = "SPDY/3.1"

    let exec: KubeExecUpgrade

    var supportedProtocol: String { Self.name }
    var requiredUpgradeHeaders: [String] { [] }

    struct Declined: Error {}

    func buildUpgradeResponse(channel: any Channel, upgradeRequest: HTTPRequestHead, initialResponseHeaders: HTTPHeaders) -> EventLoopFuture<HTTPHeaders> {
        let offered = upgradeRequest.headers["x-stream-protocol-version"].flatMap { $0.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) } }
        return channel.eventLoop.makeFutureWithTask { [exec] in
            guard let chosen = await exec.admit(upgradeRequest, offered: offered, overSPDY: true, channel: channel) else { throw Declined() }
            var headers = initialResponseHeaders
            headers.add(name: "X-Stream-Protocol-Version", value: chosen)
            return headers
        }
    }

    func upgrade(context: ChannelHandlerContext, upgradeRequest: HTTPRequestHead) -> EventLoopFuture<Void> {
        let channel = context.channel
        return channel.eventLoop.makeFutureWithTask { [exec] in try await exec.open(channel) }
    }
}

import KubeExecGatewayCore
import NIOCore
import NIOHTTP1

/// Writes one response to a client's HTTP channel from the connection's serving task; every
/// write waits for the channel (a client that reads slowly slows the relay, not memory).
struct KubeResponder: Sendable {
    let channel: any Channel
    let keepAlive: Bool

    /// A refusal or an error as a Kubernetes `Status` (kubectl prints its message).
    func status(_ status: KubeStatus) async {
        var headers = HTTPHeaders([("content-type", "application/json")])
        let body = ByteBuffer(bytes: status.json)
        headers.add(name: "content-length", value: "\(body.readableBytes)")
        await head(HTTPResponseStatus(statusCode: status.code ?? 500), headers: headers)
        await write(body)
        await end()
    }

    func head(_ status: HTTPResponseStatus, headers: HTTPHeaders) async {
        var headers = headers
        if !keepAlive { headers.replaceOrAdd(name: "connection", value: "close") }
        try? await channel.writeAndFlush(HTTPServerResponsePart.head(HTTPResponseHead(version: .http1_1, status: status, headers: headers))).get()
    }

    /// False once the client is gone.
    @discardableResult
    func write(_ body: ByteBuffer) async -> Bool {
        guard body.readableBytes > 0 else { return channel.isActive }
        do {
            try await channel.writeAndFlush(HTTPServerResponsePart.body(.byteBuffer(body))).get()
            return true
        } catch {
            return false
        }
    }

    func end() async {
        try? await channel.writeAndFlush(HTTPServerResponsePart.end(nil)).get()
        if !keepAlive { try? await channel.close() }
    }
}

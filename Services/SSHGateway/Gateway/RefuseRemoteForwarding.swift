import NIOCore
import NIOSSH

/// Global requests: remote forwarding (`ssh -R`) is not offered; the refusal is audited.
final class RefuseRemoteForwarding: GlobalRequestDelegate {
    let connection: SSHClientConnection

    init(connection: SSHClientConnection) {
        self.connection = connection
    }

    func tcpForwardingRequest(
        _ request: GlobalRequest.TCPForwardingRequest, handler: NIOSSHHandler,
        promise: EventLoopPromise<GlobalRequest.TCPForwardingResponse>
    ) {
        if let session = connection.authenticated {
            let connection = self.connection
            Task {
                await connection.environment.audit.record(
                    .block, identity: session.identity, connection: session.connection.name, session: connection.sessionID,
                    command: "tcpip-forward", rule: "remote_forwarding", detail: "remote port forwarding (ssh -R) is not offered by the gateway",
                    clientAddress: connection.clientAddress
                )
            }
        }
        promise.fail(SSHGatewayFailure("remote port forwarding is not offered"))
    }
}

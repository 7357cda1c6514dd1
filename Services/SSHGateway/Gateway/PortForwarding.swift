import GatewayRecording
import GatewayRuntime
import NIOCore
import NIOSSH

/// `direct-tcpip` (`ssh -L`, `ssh -W`): refused unless the connection sets
/// `allow_port_forwarding`, audited either way; when allowed, the target's sshd opens the
/// forwarded connection, so the gateway reaches nothing the target could not.
enum PortForwarding {
    static func open(
        _ child: any Channel, target: SSHChannelType.DirectTCPIP, connection: SSHClientConnection, session: SSHClientConnection.Authenticated
    ) -> EventLoopFuture<Void> {
        let description = "direct-tcpip \(target.targetHost):\(target.targetPort)"
        let allowed = session.connection.allowPortForwarding
        let detail = allowed ? nil : "port forwarding is not allowed on connection \"\(session.connection.name)\""
        session.tracked.recorder?.record(RecordingEvent(type: .forward, command: description, decision: allowed ? "allow" : "block", detail: detail))
        connection.environment.metrics.decision(allowed ? "allow" : "block", connection: session.connection.name)
        Task {
            await connection.environment.audit.record(
                allowed ? .allow : .block, identity: session.identity, connection: session.connection.name, session: connection.sessionID,
                command: description, rule: allowed ? nil : "allow_port_forwarding", detail: detail, clientAddress: connection.clientAddress
            )
        }
        guard allowed else {
            return child.eventLoop.makeFailedFuture(SSHGatewayFailure(detail ?? "refused"))
        }
        let (clientSide, upstreamSide) = ForwardingGlueHandler.pair { [connection] in connection.touch() }
        do {
            try child.syncOptions?.setOption(ChannelOptions.allowRemoteHalfClosure, value: true)
            try child.pipeline.syncOperations.addHandler(clientSide)
        } catch {
            return child.eventLoop.makeFailedFuture(error)
        }
        let bound = NIOLoopBound(upstreamSide, eventLoop: child.eventLoop)
        return connection.upstreamChannel()
            .flatMap { parent in
                UpstreamSSH.openChannel(on: parent, type: .directTCPIP(target)) { upstream in
                    try upstream.pipeline.syncOperations.addHandler(bound.value)
                }
            }
            .map { _ in }
    }
}

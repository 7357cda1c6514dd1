import GatewayConfig
import GatewaySession
import NIOCore
import NIOPosix
import NIOSSH
import SSHGatewayCore

/// The gateway's own SSH connection to a target: the connection's private key, the pinned host
/// key, on the client's event loop so both sides of every channel share one thread.
enum UpstreamSSH {
    /// Dials, exchanges keys and authenticates with the target, all within `timeout` seconds
    /// (`upstream_timeout`): a target that accepts and then says nothing is let go.
    static func connect(_ upstream: SSHUpstream, on eventLoop: any EventLoop, timeout: Double = 15) async throws(SSHGatewayFailure) -> any Channel {
        let limit = TimeAmount.milliseconds(Int64(timeout * 1000))
        let key: NIOSSHPrivateKey
        do {
            key = try OpenSSHPrivateKey.load(file: upstream.privateKeyFile).key
        } catch {
            throw SSHGatewayFailure("the gateway's key for this connection cannot be used: \(error)")
        }
        let pinned: NIOSSHPublicKey
        do {
            pinned = try NIOSSHPublicKey(openSSHPublicKey: upstream.hostKey.trimmingCharacters(in: .whitespacesAndNewlines))
        } catch {
            throw SSHGatewayFailure("upstream.host_key is not an OpenSSH public key line (ssh-ed25519 or ecdsa-sha2-nistp*)")
        }
        let hostKeys = PinnedHostKeyDelegate(pinned: pinned)
        let ready = eventLoop.makePromise(of: Void.self)
        let channel: any Channel
        do {
            channel = try await ClientBootstrap(group: eventLoop)
                .connectTimeout(limit)
                .channelOption(ChannelOptions.socket(SocketOptionLevel(IPPROTO_TCP), TCP_NODELAY), value: 1)
                .channelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        let ssh = NIOSSHHandler(
                            role: .client(.init(userAuthDelegate: UpstreamKeyDelegate(user: upstream.user, key: key), serverAuthDelegate: hostKeys)),
                            allocator: channel.allocator,
                            inboundChildChannelInitializer: nil
                        )
                        let readiness = UpstreamReadyHandler(ready: ready)
                        try channel.pipeline.syncOperations.addHandlers(ssh, readiness)
                        // NIOSSHHandler swallows channelInactive: a target that drops the
                        // connection mid-handshake (sshd's MaxStartups) is seen through the
                        // close future; one that never answers, through a deadline.
                        let bound = NIOLoopBound(readiness, eventLoop: channel.eventLoop)
                        channel.closeFuture.whenComplete { _ in
                            bound.value.fail(SSHGatewayFailure("the target closed the connection during the SSH handshake"))
                        }
                        let deadline = channel.eventLoop.scheduleTask(in: limit) {
                            bound.value.fail(SSHGatewayFailure("the target did not complete the SSH handshake within \(UpstreamDeadline.format(timeout)) (upstream_timeout)"))
                            channel.close(promise: nil)
                        }
                        ready.futureResult.whenComplete { _ in deadline.cancel() }
                    }
                }
                .connect(host: upstream.host, port: upstream.port)
                .get()
        } catch {
            ready.fail(error)
            throw SSHGatewayFailure("cannot reach the target \(upstream.host):\(upstream.port): \(Self.describe(error))")
        }
        do {
            try await ready.futureResult.get()
            return channel
        } catch {
            channel.close(promise: nil)
            if let presented = hostKeys.mismatch.withLock({ $0 }) {
                throw SSHGatewayFailure("the target \(upstream.host):\(upstream.port) presented host key \(presented), which does not match upstream.host_key; refusing to connect")
            }
            throw SSHGatewayFailure("the target \(upstream.host):\(upstream.port) refused the gateway: \(Self.describe(error))")
        }
    }

    /// Opens a channel on an authenticated connection and installs `handler` in it.
    static func openChannel(
        on parent: any Channel, type: SSHChannelType, handler: @escaping @Sendable (any Channel) throws -> Void
    ) -> EventLoopFuture<any Channel> {
        let promise = parent.eventLoop.makePromise(of: (any Channel).self)
        parent.eventLoop.execute {
            do {
                let ssh = try parent.pipeline.syncOperations.handler(type: NIOSSHHandler.self)
                ssh.createChannel(promise, channelType: type) { child, _ in
                    child.eventLoop.makeCompletedFuture {
                        try child.syncOptions?.setOption(ChannelOptions.allowRemoteHalfClosure, value: true)
                        try handler(child)
                    }
                }
            } catch {
                promise.fail(error)
            }
        }
        return promise.futureResult
    }

    static func describe(_ error: any Error) -> String {
        if let failure = error as? SSHGatewayFailure { return failure.message }
        if let io = error as? IOError { return io.description }
        if let ssh = error as? NIOSSHError { return "\(ssh)" }
        if error is ChannelError { return "connection closed" }
        return "\(error)"
    }
}

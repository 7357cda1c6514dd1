import NIOCore
import NIOSSH

/// Offers the connection's private key once; when the target refuses it there is nothing else
/// to try, and the connection fails with a clear error.
final class UpstreamKeyDelegate: NIOSSHClientUserAuthenticationDelegate {
    let user: String
    let key: NIOSSHPrivateKey
    private var offered = false

    init(user: String, key: NIOSSHPrivateKey) {
        self.user = user
        self.key = key
    }

    func nextAuthenticationType(
        availableMethods: NIOSSHAvailableUserAuthenticationMethods,
        nextChallengePromise: EventLoopPromise<NIOSSHUserAuthenticationOffer?>
    ) {
        guard !offered, availableMethods.contains(.publicKey) else {
            nextChallengePromise.fail(SSHGatewayFailure("the target refused the gateway's key for user \(user)"))
            return
        }
        offered = true
        nextChallengePromise.succeed(NIOSSHUserAuthenticationOffer(username: user, serviceName: "ssh-connection", offer: .privateKey(.init(privateKey: key))))
    }
}

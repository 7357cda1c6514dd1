import NIOCore
import NIOSSH
import Synchronization

/// Accepts exactly the host key pinned in `upstream.host_key`; anything else ends the
/// connection before authentication, so the gateway's key is never offered to an impostor.
final class PinnedHostKeyDelegate: NIOSSHClientServerAuthenticationDelegate, Sendable {
    let pinned: NIOSSHPublicKey
    /// The key the server presented when it was not the pinned one.
    let mismatch = Mutex<String?>(nil)

    init(pinned: NIOSSHPublicKey) {
        self.pinned = pinned
    }

    func validateHostKey(hostKey: NIOSSHPublicKey, validationCompletePromise: EventLoopPromise<Void>) {
        if hostKey == pinned {
            validationCompletePromise.succeed(())
        } else {
            let presented = String(openSSHPublicKey: hostKey)
            mismatch.withLock { $0 = presented }
            validationCompletePromise.fail(SSHGatewayFailure("the target's host key does not match upstream.host_key"))
        }
    }
}

import NIOCore
import NIOSSH

/// Password authentication where the password is the OIDC token and the user name selects
/// the connection. Verification runs off the event loop; answers go back in request order, as
/// swift-nio-ssh requires.
final class TokenPasswordDelegate: NIOSSHServerUserAuthenticationDelegate {
    let connection: SSHClientConnection
    /// The previous answer; the next one completes after it.
    private var previous: EventLoopFuture<Void>?

    init(connection: SSHClientConnection) {
        self.connection = connection
    }

    var supportedAuthenticationMethods: NIOSSHAvailableUserAuthenticationMethods { .password }

    func requestReceived(request: NIOSSHUserAuthenticationRequest, responsePromise: EventLoopPromise<NIOSSHUserAuthenticationOutcome>) {
        guard case .password(let password) = request.request else {
            responsePromise.succeed(.failure)
            return
        }
        let username = request.username
        let token = password.password
        let connection = self.connection
        let eventLoop = responsePromise.futureResult.eventLoop
        let verdict = eventLoop.makeFutureWithTask { await connection.authenticate(username: username, token: token) }
        let ordered = (previous ?? eventLoop.makeSucceededVoidFuture()).flatMap { verdict }
        previous = ordered.map { _ in }
        ordered.whenComplete { result in
            switch result {
            case .success(true): responsePromise.succeed(.success)
            default: responsePromise.succeed(.failure)
            }
        }
    }
}

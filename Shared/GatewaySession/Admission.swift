import GatewayConfig
import GatewayIdentity
import GatewayPolicy
import GatewayRuntime
import GatewayState
import Logging

/// Who may open a session, decided the same way by every gateway: the OIDC token is verified,
/// the connection the client named must exist (and be one this gateway serves), and the
/// identity must be in its `allow_groups`. Every refusal is counted, audited as `deny` with the
/// client's address, and logged in one line without the token.
public struct Admission: Sendable {
    public struct Admitted: Sendable {
        public var identity: Identity
        public var connection: ConnectionConfiguration
    }

    public struct Refusal: Error, Sendable, Equatable {
        public enum Reason: Sendable, Equatable {
            /// The token was not accepted (the identity is unknown).
            case token
            /// No such connection on this gateway.
            case unknownConnection
            /// The identity may not use the connection.
            case denied
        }

        public var reason: Reason
        /// What the client is told (without the gateway's prefix).
        public var message: String
    }

    let environment: GatewayEnvironment
    /// How the client names the connection, for the unknown-connection message ("dbname",
    /// "the SSH user name").
    let selector: String

    public init(environment: GatewayEnvironment, selector: String) {
        self.environment = environment
        self.selector = selector
    }

    /// Admits `token` to the connection named `requested`, if it is one that `serves` accepts.
    public func admit(
        token: String, connection requested: String, clientAddress: String, logger: Logger,
        serves: (ConnectionConfiguration) -> Bool
    ) async -> Result<Admitted, Refusal> {
        let identity: Identity
        do {
            identity = try await environment.verifier.verify(token.trimmingCharacters(in: .whitespacesAndNewlines))
        } catch {
            environment.metrics.authenticationFailure(reason: error.code.rawValue)
            await environment.audit.record(.deny, identity: nil, connection: requested, detail: error.description, clientAddress: clientAddress)
            logger.notice("authentication refused", metadata: ["gateway.reason": "\(error.code.rawValue)", "gateway.client": "\(clientAddress)"])
            return .failure(Refusal(reason: .token, message: error.description))
        }
        guard let connection = environment.connections.first(where: { $0.name == requested && serves($0) }) else {
            let message = "unknown connection \"\(requested)\" (\(selector) selects the connection)"
            await environment.audit.record(.deny, identity: identity, connection: requested, detail: message, clientAddress: clientAddress)
            logger.notice("access refused", metadata: ["gateway.user": "\(identity.subject)", "gateway.connection": "\(requested)", "gateway.reason": "unknown connection"])
            return .failure(Refusal(reason: .unknownConnection, message: message))
        }
        if case .deny(let reason) = environment.policy.authorize(identity, for: connection.policy) {
            environment.metrics.decision(AuditAction.deny.rawValue, connection: connection.name)
            await environment.audit.record(.deny, identity: identity, connection: connection.name, detail: reason, clientAddress: clientAddress)
            logger.notice("access refused", metadata: ["gateway.user": "\(identity.subject)", "gateway.connection": "\(connection.name)", "gateway.reason": "allow_groups"])
            return .failure(Refusal(reason: .denied, message: reason))
        }
        return .success(Admitted(identity: identity, connection: connection))
    }
}

import GatewayConfig
import GatewayRuntime
import GatewaySession
import KubeExecGatewayCore
import Logging

/// Who may use a Kubernetes connection, for API requests and exec streams alike: the bearer
/// token through the shared `Admission` against a kube connection; a refusal as the `Status`
/// the client is answered with (401 without an accepted token, 403 otherwise).
struct KubeAdmission {
    let environment: GatewayEnvironment

    func admit(token: String?, connection name: String, clientAddress: String, logger: Logger) async -> Result<(Admission.Admitted, KubeUpstream), KubeStatusError> {
        guard let token else {
            return .failure(KubeStatusError(.failure(code: 401, reason: "Unauthorized", message: "access gateway: no bearer token (the kubeconfig's user token is the OIDC token)")))
        }
        let admission = Admission(environment: environment, selector: "the path /connections/<connection>")
        let result = await admission.admit(token: token, connection: name, clientAddress: clientAddress, logger: logger) { candidate in
            if case .kube = candidate.upstream { true } else { false }
        }
        switch result {
        case .success(let session):
            guard case .kube(let upstream) = session.connection.upstream else { return .failure(KubeStatusError(.failure(code: 403, reason: "Forbidden", message: "access gateway: not a kube connection"))) }
            return .success((session, upstream))
        case .failure(let refusal):
            let code = refusal.reason == .token ? 401 : 403
            return .failure(KubeStatusError(.failure(code: code, reason: code == 401 ? "Unauthorized" : "Forbidden", message: "access gateway: \(refusal.message)")))
        }
    }
}

/// A refusal, as the `Status` to answer with.
struct KubeStatusError: Error {
    let status: KubeStatus
    init(_ status: KubeStatus) { self.status = status }
}

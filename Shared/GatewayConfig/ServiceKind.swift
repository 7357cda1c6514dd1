/// The three gateways; also a connection's `type`.
public enum ServiceKind: String, Sendable, Codable, Hashable, CaseIterable {
    case postgres
    case ssh
    case kube

    /// The executable's name, used in logs, metrics and audit events.
    public var serviceName: String {
        switch self {
        case .postgres: "postgres-gateway"
        case .ssh: "ssh-gateway"
        case .kube: "kube-exec-gateway"
        }
    }
}

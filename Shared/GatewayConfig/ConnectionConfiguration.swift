import GatewayMasking
import GatewayPolicy

/// One entry of `connections:`.
public struct ConnectionConfiguration: Sendable {
    public var name: String
    public var kind: ServiceKind
    public var upstream: Upstream
    public var allowGroups: [String]
    public var guardrails: [Guardrail]
    public var approvals: [ApprovalRule]
    /// `opaque:`: what the connection does with commands no check can see through.
    public var opaque: OpaqueHandling
    /// Who reviews opaque commands: the approval rules' reviewer groups, or `admin_groups`.
    public var opaqueReviewers: [String]
    public var masking: MaskingPolicy
    public var limits: ConnectionLimits
    /// `record:`: true (required), best_effort or false.
    public var recording: RecordingMode
    /// Whether sessions are recorded at all.
    public var record: Bool { recording != .off }
    /// ssh only.
    public var allowPortForwarding: Bool
    /// ssh only: whether the `sftp` subsystem may be opened.
    public var allowSFTP: Bool
    /// ssh only: environment variables a client may set (`env` requests).
    public var allowEnvironment: [String]
    /// kube only.
    public var apiPassthrough: APIPassthrough
    /// kube only: Secret `data` and `stringData` values are masked in passthrough.
    public var maskSecrets: Bool

    public enum APIPassthrough: String, Sendable, Hashable, CaseIterable {
        case none
        case readOnly = "read_only"
        case all
    }

    public init(
        name: String, kind: ServiceKind, upstream: Upstream, allowGroups: [String],
        guardrails: [Guardrail] = [], approvals: [ApprovalRule] = [], opaque: OpaqueHandling = .review,
        opaqueReviewers: [String]? = nil, masking: MaskingPolicy = MaskingPolicy(),
        limits: ConnectionLimits = ConnectionLimits(), record: Bool = true, recording: RecordingMode? = nil, allowPortForwarding: Bool = false,
        allowSFTP: Bool = false, allowEnvironment: [String] = ["LANG", "LC_ALL", "TERM", "GATEWAY_REASON"],
        apiPassthrough: APIPassthrough = .readOnly, maskSecrets: Bool = true
    ) {
        self.name = name
        self.kind = kind
        self.upstream = upstream
        self.allowGroups = allowGroups
        self.guardrails = guardrails
        self.approvals = approvals
        self.opaque = opaque
        self.opaqueReviewers = opaqueReviewers ?? ConnectionPolicy.reviewers(of: approvals)
        self.masking = masking
        self.limits = limits
        self.recording = recording ?? (record ? .required : .off)
        self.allowPortForwarding = allowPortForwarding
        self.allowSFTP = allowSFTP
        self.allowEnvironment = allowEnvironment
        self.apiPassthrough = apiPassthrough
        self.maskSecrets = maskSecrets
    }

    /// The part the policy engine decides with.
    public var policy: ConnectionPolicy {
        ConnectionPolicy(
            connection: name, allowGroups: allowGroups, guardrails: guardrails, approvals: approvals,
            opaque: opaque, opaqueReviewers: opaqueReviewers
        )
    }
}

public struct ConnectionLimits: Sendable, Hashable {
    public var maxRows: Int?
    /// Seconds.
    public var idleTimeout: Double?

    public init(maxRows: Int? = nil, idleTimeout: Double? = nil) {
        self.maxRows = maxRows
        self.idleTimeout = idleTimeout
    }
}

/// Where a connection leads and how the gateway authenticates there.
public enum Upstream: Sendable {
    case postgres(PostgresUpstream)
    case ssh(SSHUpstream)
    case kube(KubeUpstream)

    /// A short, secret-free description for logs and `config check`.
    public var summary: String {
        switch self {
        case .postgres(let p): "postgres://\(p.user)@\(p.host):\(p.port)/\(p.database) tls=\(p.tls.rawValue)"
        case .ssh(let s): "ssh://\(s.user)@\(s.host):\(s.port)"
        case .kube(let k): "\(k.url)\(k.impersonate ? " (impersonating)" : "")"
        }
    }
}

public struct PostgresUpstream: Sendable, Hashable {
    public enum TLSMode: String, Sendable, Hashable, CaseIterable {
        case disable, prefer, require
        case verifyFull = "verify-full"
    }

    public var host: String
    public var port: Int
    public var database: String
    public var user: String
    /// nil when the connection needs no password (trust), or when not resolved (other service).
    public var password: Secret?
    public var tls: TLSMode
    public var caFile: String?

    public init(host: String, port: Int = 5432, database: String, user: String, password: Secret?, tls: TLSMode = .prefer, caFile: String? = nil) {
        self.host = host
        self.port = port
        self.database = database
        self.user = user
        self.password = password
        self.tls = tls
        self.caFile = caFile
    }
}

public struct SSHUpstream: Sendable, Hashable {
    public var host: String
    public var port: Int
    public var user: String
    public var privateKeyFile: String
    /// The pinned host key, `ssh-ed25519 AAAA...`.
    public var hostKey: String

    public init(host: String, port: Int = 22, user: String, privateKeyFile: String, hostKey: String) {
        self.host = host
        self.port = port
        self.user = user
        self.privateKeyFile = privateKeyFile
        self.hostKey = hostKey
    }
}

public struct KubeUpstream: Sendable, Hashable {
    public var url: String
    public var tokenFile: String
    public var caFile: String?
    public var impersonate: Bool

    public init(url: String, tokenFile: String, caFile: String? = nil, impersonate: Bool = true) {
        self.url = url
        self.tokenFile = tokenFile
        self.caFile = caFile
        self.impersonate = impersonate
    }
}

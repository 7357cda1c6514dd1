import GatewayMasking
import GatewayPolicy

/// The whole configuration file, typed and validated. Load with `ConfigurationLoader`.
public struct GatewayConfiguration: Sendable {
    public var identity: IdentitySettings
    public var state: StateSettings
    public var recordings: RecordingSettings
    public var adminGroups: [String]
    public var services: ServiceSettings
    public var tls: TLSSettings?
    public var connections: [ConnectionConfiguration]
    public var webhooks: [WebhookSettings]

    public init(
        identity: IdentitySettings, state: StateSettings, recordings: RecordingSettings, adminGroups: [String],
        services: ServiceSettings, tls: TLSSettings?, connections: [ConnectionConfiguration], webhooks: [WebhookSettings] = []
    ) {
        self.identity = identity
        self.state = state
        self.recordings = recordings
        self.adminGroups = adminGroups
        self.services = services
        self.tls = tls
        self.connections = connections
        self.webhooks = webhooks
    }

    public func connection(named name: String) -> ConnectionConfiguration? {
        connections.first { $0.name == name }
    }

    public func connections(of kind: ServiceKind) -> [ConnectionConfiguration] {
        connections.filter { $0.kind == kind }
    }
}

public struct IdentitySettings: Sendable, Hashable {
    /// What happens to a session when its token expires.
    public enum SessionExpiry: String, Sendable, Hashable, CaseIterable {
        /// The session is ended with the protocol's own error, and audited (the default).
        case end
        /// The session goes on; only new sessions need a valid token.
        case keep
    }

    public var issuer: String
    public var audience: String
    public var groupsClaim: String
    public var jwksFile: String?
    /// Tokens longer than this are refused before any parsing (`max_token_bytes`, 8 KiB).
    public var maxTokenBytes: Int
    public var sessionExpiry: SessionExpiry

    public init(
        issuer: String, audience: String, groupsClaim: String = "groups", jwksFile: String? = nil,
        maxTokenBytes: Int = 8192, sessionExpiry: SessionExpiry = .end
    ) {
        self.issuer = issuer
        self.audience = audience
        self.groupsClaim = groupsClaim
        self.jwksFile = jwksFile
        self.maxTokenBytes = maxTokenBytes
        self.sessionExpiry = sessionExpiry
    }
}

public struct StateSettings: Sendable, Hashable {
    public enum Backend: Sendable, Hashable {
        case sqlite(path: String)
        case postgres(url: String)
    }

    public var url: String
    public var backend: Backend

    public init(url: String, backend: Backend) {
        self.url = url
        self.backend = backend
    }

    /// `sqlite:///abs/path`, `sqlite://relative/path`, `sqlite::memory:`, `postgres://…`, `postgresql://…`.
    public static func parse(_ url: String) -> StateSettings? {
        if url.hasPrefix("postgres://") || url.hasPrefix("postgresql://") {
            return StateSettings(url: url, backend: .postgres(url: url))
        }
        if url.hasPrefix("sqlite://") {
            let path = String(url.dropFirst("sqlite://".count))
            guard !path.isEmpty else { return nil }
            return StateSettings(url: url, backend: .sqlite(path: path))
        }
        if url.hasPrefix("sqlite:") {
            let path = String(url.dropFirst("sqlite:".count))
            guard !path.isEmpty else { return nil }
            return StateSettings(url: url, backend: .sqlite(path: path))
        }
        return nil
    }
}

public struct RecordingSettings: Sendable, Hashable {
    public var directory: String
    public var signingKeyFile: String?
    /// Base64 Ed25519 public keys whose signatures the admin API accepts besides this
    /// instance's own signing key (other instances' keys, keys before a rotation). With a
    /// signing key or any of these, an unsigned or otherwise signed seal does not verify.
    public var trustedKeys: [String]

    public init(directory: String, signingKeyFile: String? = nil, trustedKeys: [String] = []) {
        self.directory = directory
        self.signingKeyFile = signingKeyFile
        self.trustedKeys = trustedKeys
    }
}

public struct ServiceEndpoint: Sendable, Hashable {
    public var listen: HostPort
    public var admin: HostPort
    /// ssh only: the gateway's host key (generated when absent).
    public var hostKeyFile: String?
    /// kube only (`held_request_wait`): how long a held API request waits for its review
    /// before it is answered with a 403 naming it (the review goes on; the approved retry
    /// passes). Default 25 s, inside kubectl's and client-go's default timeouts.
    public var heldRequestWait: Double
    /// `handshake_timeout`, `max_unauthenticated`, `max_unauthenticated_per_address`.
    public var handshake: HandshakeLimits
    /// `upstream_timeout`: how long the gateway's own connection to a target may take from
    /// dialling until it is ready for the client (TCP, TLS, authentication); a target that
    /// accepts and then says nothing is reported to the client as such, not waited on for ever.
    /// Default 15 s.
    public var upstreamTimeout: Double

    public init(
        listen: HostPort, admin: HostPort, hostKeyFile: String? = nil, heldRequestWait: Double = 25, handshake: HandshakeLimits = HandshakeLimits(),
        upstreamTimeout: Double = 15
    ) {
        self.listen = listen
        self.admin = admin
        self.hostKeyFile = hostKeyFile
        self.heldRequestWait = heldRequestWait
        self.handshake = handshake
        self.upstreamTimeout = upstreamTimeout
    }
}

public struct ServiceSettings: Sendable, Hashable {
    public var postgres: ServiceEndpoint?
    public var ssh: ServiceEndpoint?
    public var kube: ServiceEndpoint?

    public init(postgres: ServiceEndpoint? = nil, ssh: ServiceEndpoint? = nil, kube: ServiceEndpoint? = nil) {
        self.postgres = postgres
        self.ssh = ssh
        self.kube = kube
    }

    public subscript(kind: ServiceKind) -> ServiceEndpoint? {
        switch kind {
        case .postgres: postgres
        case .ssh: ssh
        case .kube: kube
        }
    }
}

public struct TLSSettings: Sendable, Hashable {
    public var certFile: String
    public var keyFile: String

    public init(certFile: String, keyFile: String) {
        self.certFile = certFile
        self.keyFile = keyFile
    }
}

public struct WebhookSettings: Sendable, Hashable {
    public var url: String
    public var secret: Secret?

    public init(url: String, secret: Secret?) {
        self.url = url
        self.secret = secret
    }
}

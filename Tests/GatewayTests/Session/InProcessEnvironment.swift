import Foundation
import GatewayAdmin
import GatewayConfig
import GatewayIdentity
import GatewayIssuerClient
import GatewayPolicy
import GatewayRuntime
import GatewayState
import Logging

/// A gateway environment for in-process tests of the session core: the configuration from
/// YAML, a SQLite state store in a temporary folder, the real audit trail, metrics and policy
/// engine; no listener, no identity provider (nothing here verifies a token).
struct InProcessEnvironment {
    let environment: GatewayEnvironment
    let directory: String

    init(service: ServiceKind = .ssh, connections: String) async throws {
        directory = NSTemporaryDirectory() + "in-process-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let yaml = """
        identity: { issuer: https://idp.example.com, audience: access-gateway }
        state: { url: "sqlite://\(directory)/state.sqlite" }
        recordings: { dir: \(directory)/recordings }
        admin_groups: [security]
        services:
          ssh: { listen: 127.0.0.1:1, admin: 127.0.0.1:2, host_key_file: \(directory)/host_key }
          postgres: { listen: 127.0.0.1:3, admin: 127.0.0.1:4 }
        connections:
        \(connections)
        """
        let configuration = try ConfigurationLoader(environment: [:], resolveSecrets: false).load(yaml: yaml)
        let store = try SQLiteStateStore(path: directory + "/state.sqlite")
        try await store.migrate()
        let logger = Logger(label: "in-process")
        environment = GatewayEnvironment(
            service: service, configuration: configuration, endpoint: configuration.services[service]!,
            verifier: TokenVerifier(settings: configuration.identity, fetcher: IssuerHTTPClient()), store: store,
            audit: AuditTrail(service: service.serviceName, store: store, recordingsDirectory: directory + "/recordings", logger: logger),
            metrics: GatewayMetrics(service: service.serviceName), sessions: SessionRegistry(), policy: PolicyEngine(), signer: nil,
            instanceID: "test", logger: logger, webhooks: WebhookNotifier(hooks: [], logger: logger), reviews: ReviewWatcher(store: store),
            recordings: RecordingUploader(archive: nil, directory: directory + "/recordings", instanceID: "test", logger: logger)
        )
    }

    var connection: ConnectionConfiguration { environment.connections[0] }

    /// The audit events stored so far, oldest first.
    func auditEvents() async throws -> [AuditEvent] {
        await environment.audit.flush()
        return try await environment.store.auditEvents(AuditQuery()).sorted { $0.time < $1.time }
    }
}

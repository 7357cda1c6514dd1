import Foundation
import GatewayMasking
import GatewayPolicy
import Yams

/// Reads and validates a configuration file.
///
/// Every problem is reported with its key path; secrets (`password_env`, `password_file`)
/// and files are resolved only for the connections of `service` (all when nil), because a
/// gateway reads the shared sections and its own connections.
public struct ConfigurationLoader: Sendable {
    public var environment: [String: String]
    public var service: ServiceKind?
    /// False for offline dry runs (`gatewayctl policy`): secrets and upstream files are not read.
    public var resolveSecrets: Bool

    public init(environment: [String: String] = ProcessInfo.processInfo.environment, service: ServiceKind? = nil, resolveSecrets: Bool = true) {
        self.environment = environment
        self.service = service
        self.resolveSecrets = resolveSecrets
    }

    public func load(file: String) throws(ConfigurationErrors) -> GatewayConfiguration {
        guard let data = FileManager.default.contents(atPath: file) else {
            throw ConfigurationErrors([ConfigurationError(path: "", reason: "cannot read \(file)")], file: file)
        }
        let text = String(decoding: data, as: UTF8.self)
        do {
            return try load(yaml: text, baseDirectory: (file as NSString).deletingLastPathComponent)
        } catch {
            throw ConfigurationErrors(error.errors, file: file)
        }
    }

    public func load(yaml: String, baseDirectory: String = FileManager.default.currentDirectoryPath) throws(ConfigurationErrors) -> GatewayConfiguration {
        let root: Node?
        do {
            root = try Yams.compose(yaml: yaml)
        } catch {
            throw ConfigurationErrors([ConfigurationError(path: "", reason: "not valid YAML: \(error)")])
        }
        let report = ConfigNode.ErrorReport()
        report.environment = environment
        let document = ConfigNode(root, path: "", report: report)
        guard document.isMapping else {
            throw ConfigurationErrors([ConfigurationError(path: "", reason: "the file must be a mapping with identity, state, recordings, services and connections")])
        }
        let context = Context(environment: environment, service: service, resolveSecrets: resolveSecrets, baseDirectory: baseDirectory)
        let configuration = context.read(document)
        document.rejectUnknownKeys()
        if !report.errors.isEmpty || configuration == nil {
            throw ConfigurationErrors(report.errors)
        }
        return configuration!
    }

    struct Context {
        var environment: [String: String]
        var service: ServiceKind?
        var resolveSecrets: Bool
        var baseDirectory: String

        func resolves(_ kind: ServiceKind) -> Bool { resolveSecrets && (service == nil || service == kind) }

        func path(_ file: String) -> String {
            file.hasPrefix("/") ? file : (baseDirectory as NSString).appendingPathComponent(file)
        }

        func read(_ root: ConfigNode) -> GatewayConfiguration? {
            let identity = readIdentity(root.child("identity"))
            let state = readState(root.child("state"))
            let recordings = readRecordings(root.child("recordings"))
            let adminGroups = root.stringList("admin_groups")
            let services = readServices(root.child("services"))
            let tls = readTLS(root.child("tls"))
            var connections = readConnections(root.child("connections"))
            for index in connections.indices where connections[index].opaqueReviewers.isEmpty {
                connections[index].opaqueReviewers = adminGroups
            }
            let webhooks = root.child("webhooks").elements.compactMap(readWebhook)
            guard let identity, let state, let recordings else { return nil }
            return GatewayConfiguration(
                identity: identity, state: state, recordings: recordings, adminGroups: adminGroups,
                services: services, tls: tls, connections: connections, webhooks: webhooks
            )
        }

        func readIdentity(_ node: ConfigNode) -> IdentitySettings? {
            guard node.isPresent else {
                node.error("is required")
                return nil
            }
            defer { node.rejectUnknownKeys() }
            let issuer = node.string("issuer")
            let audience = node.string("audience")
            let claim = node.string("groups_claim", default: "groups") ?? "groups"
            let jwksFile = node.optionalString("jwks_file").map(path)
            let maxTokenBytes = node.int("max_token_bytes", default: 8192, range: 512...(1 << 20)) ?? 8192
            var sessionExpiry = IdentitySettings.SessionExpiry.end
            if let text = node.optionalString("session_expiry") {
                if let value = IdentitySettings.SessionExpiry(rawValue: text) {
                    sessionExpiry = value
                } else {
                    node.error("must be end or keep (got \"\(text)\")", key: "session_expiry")
                }
            }
            if let issuer, URL(string: issuer)?.scheme == nil {
                node.error("must be an https:// (or, on loopback, http://) URL", key: "issuer")
            }
            if let jwksFile, !FileManager.default.isReadableFile(atPath: jwksFile) {
                node.error("cannot read \(jwksFile)", key: "jwks_file")
            }
            guard let issuer, let audience else { return nil }
            return IdentitySettings(
                issuer: issuer, audience: audience, groupsClaim: claim, jwksFile: jwksFile,
                maxTokenBytes: maxTokenBytes, sessionExpiry: sessionExpiry
            )
        }

        func readState(_ node: ConfigNode) -> StateSettings? {
            guard node.isPresent else {
                node.error("is required")
                return nil
            }
            defer { node.rejectUnknownKeys() }
            guard let url = node.string("url") else { return nil }
            guard let settings = StateSettings.parse(url) else {
                node.error("expected sqlite:///path or postgres://user:pass@host:port/db", key: "url")
                return nil
            }
            switch settings.backend {
            case .sqlite(let file):
                for key in ["password_env", "password_file"] where node.child(key).isPresent {
                    node.error("is for a postgres:// store; an SQLite file has no password", key: key)
                }
                if file != ":memory:" { return StateSettings(url: url, backend: .sqlite(path: path(file))) }
            case .postgres:
                // The password kept out of the file (a compose or Kubernetes secret): `url`
                // names the server and user, the password is added where only the store sees it.
                guard let password = readSecret(node, envKey: "password_env", fileKey: "password_file", required: false, resolve: resolveSecrets) else { break }
                guard var components = URLComponents(string: url), components.password == nil else {
                    node.error("the url already holds a password; give it in one place", key: "url")
                    return nil
                }
                components.percentEncodedPassword = password.value.addingPercentEncoding(withAllowedCharacters: .urlPasswordAllowed.subtracting(CharacterSet(charactersIn: "@:/?#[]")))
                return StateSettings(url: url, backend: .postgres(url: components.string ?? url))
            }
            return settings
        }

        func readRecordings(_ node: ConfigNode) -> RecordingSettings? {
            guard node.isPresent else {
                node.error("is required")
                return nil
            }
            defer { node.rejectUnknownKeys() }
            let directory = node.string("dir")
            let key = node.optionalString("signing_key_file").map(path)
            if let key, !FileManager.default.isReadableFile(atPath: key) {
                node.error("cannot read \(key)", key: "signing_key_file")
            }
            let trusted = node.stringList("trusted_keys")
            for (index, text) in trusted.enumerated() where Data(base64Encoded: text)?.count != 32 {
                node.error("entry \(index + 1) is not a base64 Ed25519 public key (32 bytes), as `gatewayctl recordings verify --public-key` takes", key: "trusted_keys")
            }
            guard let directory else { return nil }
            return RecordingSettings(directory: path(directory), signingKeyFile: key, trustedKeys: trusted)
        }

        func readServices(_ node: ConfigNode) -> ServiceSettings {
            defer { node.rejectUnknownKeys() }
            var settings = ServiceSettings()
            for kind in ServiceKind.allCases {
                let child = node.child(kind.rawValue)
                guard child.isPresent else { continue }
                defer { child.rejectUnknownKeys() }
                let listen = child.string("listen").flatMap { text -> HostPort? in
                    guard let value = HostPort(text) else {
                        child.error("expected host:port", key: "listen")
                        return nil
                    }
                    return value
                }
                let admin = child.string("admin").flatMap { text -> HostPort? in
                    guard let value = HostPort(text) else {
                        child.error("expected host:port", key: "admin")
                        return nil
                    }
                    return value
                }
                let hostKey = kind == .ssh ? child.optionalString("host_key_file").map(path) : nil
                var heldRequestWait = 25.0
                if kind == .kube, let wait = child.duration("held_request_wait") {
                    if wait >= 1 && wait <= 600 { heldRequestWait = wait } else { child.error("expected between 1s and 10m", key: "held_request_wait") }
                }
                var handshake = HandshakeLimits()
                if let timeout = child.duration("handshake_timeout") {
                    if timeout >= 1 && timeout <= 600 { handshake.timeout = timeout } else { child.error("expected between 1s and 10m", key: "handshake_timeout") }
                }
                if let maximum = child.int("max_unauthenticated", range: 1...100_000) { handshake.maximum = maximum }
                if let perAddress = child.int("max_unauthenticated_per_address", range: 1...100_000) { handshake.maximumPerAddress = perAddress }
                var upstreamTimeout = 15.0
                if let timeout = child.duration("upstream_timeout") {
                    if timeout >= 1 && timeout <= 600 { upstreamTimeout = timeout } else { child.error("expected between 1s and 10m", key: "upstream_timeout") }
                }
                guard let listen, let admin else { continue }
                let endpoint = ServiceEndpoint(
                    listen: listen, admin: admin, hostKeyFile: hostKey, heldRequestWait: heldRequestWait, handshake: handshake, upstreamTimeout: upstreamTimeout
                )
                switch kind {
                case .postgres: settings.postgres = endpoint
                case .ssh: settings.ssh = endpoint
                case .kube: settings.kube = endpoint
                }
            }
            return settings
        }

        func readTLS(_ node: ConfigNode) -> TLSSettings? {
            guard node.isPresent else { return nil }
            defer { node.rejectUnknownKeys() }
            let cert = node.string("cert_file").map(path)
            let key = node.string("key_file").map(path)
            for (name, file) in [("cert_file", cert), ("key_file", key)] {
                if let file, !FileManager.default.isReadableFile(atPath: file) { node.error("cannot read \(file)", key: name) }
            }
            guard let cert, let key else { return nil }
            return TLSSettings(certFile: cert, keyFile: key)
        }

        func readWebhook(_ node: ConfigNode) -> WebhookSettings? {
            defer { node.rejectUnknownKeys() }
            let url = node.string("url")
            let secret = node.optionalString("secret_env").flatMap { name -> Secret? in
                guard let value = environment[name], !value.isEmpty else {
                    node.error("environment variable \(name) is not set", key: "secret_env")
                    return nil
                }
                return Secret(value)
            }
            guard let url else { return nil }
            if URL(string: url)?.scheme == nil { node.error("expected an http(s) URL", key: "url") }
            return WebhookSettings(url: url, secret: secret)
        }

        func readConnections(_ node: ConfigNode) -> [ConnectionConfiguration] {
            guard node.isPresent else {
                node.error("is required (a list; it may be empty: [])")
                return []
            }
            var seen: [String: String] = [:]
            var connections: [ConnectionConfiguration] = []
            for element in node.elements {
                guard let connection = readConnection(element) else { continue }
                if let first = seen[connection.name] {
                    element.error("duplicate connection name \"\(connection.name)\" (first defined at \(first))", key: "name")
                    continue
                }
                seen[connection.name] = element.path
                connections.append(connection)
            }
            return connections
        }

        func readConnection(_ node: ConfigNode) -> ConnectionConfiguration? {
            defer { node.rejectUnknownKeys() }
            let name = node.string("name")
            if let name, name.isEmpty || !name.allSatisfy({ ($0.isASCII && ($0.isLowercase || $0.isNumber)) || $0 == "-" }) {
                node.error("must match [a-z0-9-]+", key: "name")
            }
            let kindText = node.string("type")
            let kind = kindText.flatMap(ServiceKind.init(rawValue:))
            if let kindText, kind == nil { node.error("must be postgres, ssh or kube (got \"\(kindText)\")", key: "type") }
            let allowGroups = node.stringList("allow_groups", required: true)
            let guardrails = node.child("guardrails").elements.compactMap { readGuardrail($0, kind: kind) }
            let approvals = node.child("approvals").elements.compactMap { readApproval($0, kind: kind) }
            var opaque = OpaqueHandling.review
            if let text = node.optionalString("opaque") {
                if let value = OpaqueHandling(rawValue: text) {
                    opaque = value
                } else {
                    node.error("must be review, block or allow (got \"\(text)\")", key: "opaque")
                }
            }
            let masking = readMasking(node.child("masking"))
            let limitsNode = node.child("limits")
            let limits = ConnectionLimits(maxRows: limitsNode.int("max_rows", range: 1...Int.max), idleTimeout: limitsNode.duration("idle_timeout"))
            limitsNode.rejectUnknownKeys()
            var recording = RecordingMode.required
            if node.child("record").isPresent, let text = node.child("record").scalarString {
                if let value = RecordingMode(yaml: text) {
                    recording = value
                } else {
                    node.error("must be true, false or best_effort (got \"\(text)\")", key: "record")
                }
            }
            var allowPortForwarding = false
            var allowSFTP = false
            var allowEnvironment = ["LANG", "LC_ALL", "TERM", "GATEWAY_REASON"]
            var passthrough = ConnectionConfiguration.APIPassthrough.readOnly
            var maskSecrets = true
            switch kind {
            case .ssh:
                allowPortForwarding = node.bool("allow_port_forwarding", default: false)
                allowSFTP = node.bool("allow_sftp", default: false)
                if node.child("allow_env").isPresent { allowEnvironment = node.stringList("allow_env") }
            case .kube:
                allowPortForwarding = node.bool("allow_port_forwarding", default: false)
                if let text = node.optionalString("api_passthrough") {
                    if let value = ConnectionConfiguration.APIPassthrough(rawValue: text) {
                        passthrough = value
                    } else {
                        node.error("must be none, read_only or all", key: "api_passthrough")
                    }
                }
                maskSecrets = node.bool("mask_secrets", default: true)
            default:
                break
            }
            guard let kind, let name else {
                _ = node.child("upstream")
                return nil
            }
            guard let upstream = readUpstream(node.child("upstream"), kind: kind) else { return nil }
            return ConnectionConfiguration(
                name: name, kind: kind, upstream: upstream, allowGroups: allowGroups, guardrails: guardrails,
                approvals: approvals, opaque: opaque, masking: masking, limits: limits, recording: recording,
                allowPortForwarding: allowPortForwarding, allowSFTP: allowSFTP, allowEnvironment: allowEnvironment,
                apiPassthrough: passthrough, maskSecrets: maskSecrets
            )
        }

        func readMatchers(_ node: ConfigNode, kind: ServiceKind?) -> (PatternMatcher?, StatementKind?, CommandMatcher?, APIRequestMatcher?, Bool) {
            var pattern: PatternMatcher?
            var statement: StatementKind?
            var command: CommandMatcher?
            var api: APIRequestMatcher?
            var valid = true
            let apiKeys = ["verbs", "resources", "namespaces", "names"]
            if apiKeys.contains(where: { node.child($0).isPresent }) {
                let lists = apiKeys.map { node.stringList($0) }
                if let kind, kind != .kube {
                    node.error("verbs, resources, namespaces and names apply to kube connections only")
                    valid = false
                } else if node.optionalString("command") != nil || node.optionalString("pattern") != nil {
                    node.error("an API request rule (verbs, resources, ...) cannot also name a command or a pattern")
                    valid = false
                } else {
                    api = APIRequestMatcher(verbs: lists[0], resources: lists[1], namespaces: lists[2], names: lists[3])
                }
            }
            if let program = node.optionalString("command") {
                let flags = node.stringList("flags")
                if program.isEmpty || program.contains("/") || program.contains(where: \.isWhitespace) {
                    node.error("must be a program's name, without a path or arguments (got \"\(program)\")", key: "command")
                    valid = false
                } else if let kind, kind == .postgres {
                    node.error("commands apply to ssh and kube connections only", key: "command")
                    valid = false
                } else {
                    command = CommandMatcher(command: program, flags: flags)
                }
            } else if node.child("flags").isPresent {
                node.error("flags need a command", key: "flags")
                valid = false
            }
            if let source = node.optionalString("pattern") {
                do {
                    pattern = try PatternMatcher(source)
                } catch {
                    node.error("invalid regular expression \(source)", key: "pattern")
                    valid = false
                }
            }
            if let text = node.optionalString("statement") {
                if let value = StatementKind(rawValue: text) {
                    statement = value
                    if let kind, kind != .postgres {
                        node.error("statement kinds apply to postgres connections only", key: "statement")
                        valid = false
                    }
                } else {
                    let known = StatementKind.allCases.map(\.rawValue).joined(separator: ", ")
                    node.error("unknown statement kind \"\(text)\" (known: \(known))", key: "statement")
                    valid = false
                }
            }
            if pattern == nil && statement == nil && command == nil && api == nil && valid {
                node.error(kind == .kube ? "needs a command, a pattern, or verbs and resources" : "needs a pattern, a statement or a command")
                valid = false
            }
            return (pattern, statement, command, api, valid)
        }

        func readGuardrail(_ node: ConfigNode, kind: ServiceKind?) -> Guardrail? {
            defer { node.rejectUnknownKeys() }
            let name = node.string("name")
            let (pattern, statement, command, api, valid) = readMatchers(node, kind: kind)
            let message = node.optionalString("message")
            guard let name, valid else { return nil }
            return Guardrail(name: name, pattern: pattern, statement: statement, command: command, api: api, message: message)
        }

        func readApproval(_ node: ConfigNode, kind: ServiceKind?) -> ApprovalRule? {
            defer { node.rejectUnknownKeys() }
            let name = node.string("name")
            let (pattern, statement, command, api, valid) = readMatchers(node, kind: kind)
            let reviewers = node.stringList("reviewer_groups", required: true)
            if node.child("reviewer_groups").isPresent && reviewers.isEmpty { node.error("must name at least one group", key: "reviewer_groups") }
            let minApprovals = node.int("min_approvals", default: 1, range: 1...100) ?? 1
            let requireAll = node.bool("require_all_groups", default: false)
            let timeout = node.duration("timeout") ?? 600
            var grant = ApprovalRule.Grant.once
            let grantText = node.optionalString("grant") ?? "once"
            let duration = node.duration("duration")
            switch grantText {
            case "once":
                if duration != nil { node.error("only applies to grant: window", key: "duration") }
            case "window":
                if let duration, duration > 0 {
                    grant = .window(seconds: duration)
                } else {
                    node.error("grant: window needs a duration such as 30m", key: "duration")
                }
            default:
                node.error("must be once or window", key: "grant")
            }
            guard let name, valid, !reviewers.isEmpty else { return nil }
            return ApprovalRule(
                name: name, pattern: pattern, statement: statement, command: command, api: api, reviewerGroups: reviewers,
                minApprovals: minApprovals, requireAllGroups: requireAll, timeout: timeout, grant: grant
            )
        }

        func readMasking(_ node: ConfigNode) -> MaskingPolicy {
            guard node.isPresent else { return MaskingPolicy() }
            defer { node.rejectUnknownKeys() }
            let columns = node.stringList("columns")
            var entities = Set<MaskingEntity>()
            for element in node.child("entities").elements {
                guard let text = element.scalarString else { continue }
                if let entity = MaskingEntity(rawValue: text.uppercased()) {
                    entities.insert(entity)
                } else {
                    element.error("unknown entity \"\(text)\" (known: \(MaskingEntity.allCases.map(\.rawValue).joined(separator: ", ")))")
                }
            }
            var patterns: [CustomPattern] = []
            for element in node.child("patterns").elements {
                defer { element.rejectUnknownKeys() }
                guard let name = element.string("name"), let regex = element.string("regex") else { continue }
                if !name.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" }) {
                    element.error("must be letters, digits and _ (it names the placeholder)", key: "name")
                    continue
                }
                do {
                    patterns.append(try CustomPattern(name: name, regex: regex))
                } catch {
                    element.error("invalid regular expression \(regex)", key: "regex")
                }
            }
            return MaskingPolicy(columns: columns, entities: entities, patterns: patterns)
        }

        func readSecret(_ node: ConfigNode, envKey: String, fileKey: String, required: Bool, resolve: Bool) -> Secret? {
            let env = node.optionalString(envKey)
            let file = node.optionalString(fileKey).map(path)
            if env != nil && file != nil {
                node.error("set \(envKey) or \(fileKey), not both")
                return nil
            }
            guard resolve else { return nil }
            if let env {
                guard let value = environment[env], !value.isEmpty else {
                    node.error("environment variable \(env) is not set", key: envKey)
                    return nil
                }
                return Secret(value)
            }
            if let file {
                guard let data = FileManager.default.contents(atPath: file) else {
                    node.error("cannot read \(file)", key: fileKey)
                    return nil
                }
                return Secret(String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines))
            }
            if required { node.error("needs \(envKey) or \(fileKey)") }
            return nil
        }

        func requireReadable(_ node: ConfigNode, key: String, resolve: Bool) -> String? {
            guard let file = node.string(key).map(path) else { return nil }
            if resolve, !FileManager.default.isReadableFile(atPath: file) {
                node.error("cannot read \(file)", key: key)
            }
            return file
        }

        func readUpstream(_ node: ConfigNode, kind: ServiceKind) -> Upstream? {
            guard node.isPresent else {
                node.error("is required")
                return nil
            }
            defer { node.rejectUnknownKeys() }
            let resolve = resolves(kind)
            switch kind {
            case .postgres:
                let host = node.string("host")
                let port = node.int("port", default: 5432, range: 1...65535) ?? 5432
                let database = node.string("database")
                let user = node.string("user")
                let password = readSecret(node, envKey: "password_env", fileKey: "password_file", required: false, resolve: resolve)
                var tls = PostgresUpstream.TLSMode.prefer
                if let text = node.optionalString("tls") {
                    if let mode = PostgresUpstream.TLSMode(rawValue: text) { tls = mode } else {
                        node.error("must be disable, prefer, require or verify-full", key: "tls")
                    }
                }
                let ca = node.optionalString("ca_file").map(path)
                guard let host, let database, let user else { return nil }
                return .postgres(PostgresUpstream(host: host, port: port, database: database, user: user, password: password, tls: tls, caFile: ca))
            case .ssh:
                let host = node.string("host")
                let port = node.int("port", default: 22, range: 1...65535) ?? 22
                let user = node.string("user")
                let key = requireReadable(node, key: "private_key_file", resolve: resolve)
                let hostKey = node.string("host_key")
                if let hostKey, hostKey.split(separator: " ").count < 2 {
                    node.error("expected \"<type> <base64>\" as in known_hosts, e.g. ssh-ed25519 AAAA...", key: "host_key")
                }
                guard let host, let user, let key, let hostKey else { return nil }
                return .ssh(SSHUpstream(host: host, port: port, user: user, privateKeyFile: key, hostKey: hostKey))
            case .kube:
                let url = node.string("url")
                let token = requireReadable(node, key: "token_file", resolve: resolve)
                let ca = node.optionalString("ca_file").map(path)
                if resolve, let ca, !FileManager.default.isReadableFile(atPath: ca) { node.error("cannot read \(ca)", key: "ca_file") }
                let impersonate = node.bool("impersonate", default: true)
                if let url, URL(string: url)?.scheme == nil { node.error("expected an https:// URL", key: "url") }
                guard let url, let token else { return nil }
                return .kube(KubeUpstream(url: url, tokenFile: token, caFile: ca, impersonate: impersonate))
            }
        }
    }
}

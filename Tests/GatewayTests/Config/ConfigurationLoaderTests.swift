import Foundation
import GatewayConfig
import GatewayMasking
import GatewayPolicy
import Testing

@Suite("Configuration loader")
struct ConfigurationLoaderTests {
    static let keyFile: String = {
        let path = NSTemporaryDirectory() + "gateway-config-test-key"
        _ = FileManager.default.createFile(atPath: path, contents: Data("key".utf8))
        return path
    }()

    static func valid(extra: String = "") -> String {
        """
        identity:
          issuer: https://idp.example.com
          audience: access-gateway
        state:
          url: sqlite:///tmp/gateway-test/state.sqlite
        recordings:
          dir: /tmp/gateway-test/recordings
        admin_groups: [security]
        services:
          postgres: { listen: 127.0.0.1:15432, admin: 127.0.0.1:8431 }
          ssh: { listen: 127.0.0.1:12222, admin: 127.0.0.1:8432, host_key_file: /tmp/gateway-test/host_key }
        connections:
          - name: orders
            type: postgres
            upstream:
              host: 127.0.0.1
              port: 5432
              database: orders
              user: app
              password_env: ORDERS_DB_PASSWORD
              tls: prefer
            allow_groups: [engineers, agents]
            guardrails:
              - { name: no-drop, pattern: '(?i)\\bdrop\\s+(table|schema|database)\\b', message: "DROP is not allowed here" }
              - { name: no-unbounded-delete, statement: delete_without_where }
            approvals:
              - { name: writes, pattern: '(?i)^\\s*(update|delete|insert)\\b', reviewer_groups: [dba], min_approvals: 1, timeout: 10m }
            masking:
              columns: [email, ssn]
              entities: [EMAIL, CREDIT_CARD, US_SSN, PHONE, IBAN, IP_ADDRESS, AWS_ACCESS_KEY, JWT]
              patterns: [{ name: API_KEY, regex: 'sk_live_[A-Za-z0-9]{16,}' }]
            limits: { max_rows: 100000, idle_timeout: 15m }
            record: true
          - name: web-1
            type: ssh
            upstream: { host: 127.0.0.1, port: 2222, user: deploy, private_key_file: \(keyFile), host_key: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIExample" }
            allow_groups: [engineers, agents]
            allow_port_forwarding: false
            guardrails: [{ name: no-rm-rf, pattern: 'rm\\s+-[a-z]*r[a-z]*f', message: "recursive force delete is blocked" }]
        \(extra)
        """
    }

    let environment = ["ORDERS_DB_PASSWORD": "s3cret"]

    @Test func loadsTheContractExample() throws {
        let configuration = try ConfigurationLoader(environment: environment).load(yaml: Self.valid())
        #expect(configuration.identity.groupsClaim == "groups")
        #expect(configuration.services.postgres?.listen == HostPort(host: "127.0.0.1", port: 15432))
        #expect(configuration.connections.count == 2)
        let orders = try #require(configuration.connection(named: "orders"))
        guard case .postgres(let upstream) = orders.upstream else {
            Issue.record("wrong upstream")
            return
        }
        #expect(upstream.password?.value == "s3cret")
        #expect("\(upstream.password!)" == "<redacted>")
        #expect(orders.guardrails.map(\.name) == ["no-drop", "no-unbounded-delete"])
        #expect(orders.guardrails[1].statement == .deleteWithoutWhere)
        #expect(orders.approvals[0].timeout == 600)
        #expect(orders.approvals[0].reviewerGroups == ["dba"])
        #expect(orders.masking.entities.count == 8)
        #expect(orders.masking.patterns.map(\.name) == ["API_KEY"])
        #expect(orders.limits.maxRows == 100_000)
        #expect(orders.limits.idleTimeout == 900)
        #expect(configuration.connection(named: "web-1")?.allowPortForwarding == false)
        if case .sqlite(let path) = configuration.state.backend { #expect(path == "/tmp/gateway-test/state.sqlite") } else { Issue.record("not sqlite") }
    }

    func errors(_ yaml: String, environment: [String: String]? = nil, service: ServiceKind? = nil) -> [String] {
        do {
            _ = try ConfigurationLoader(environment: environment ?? self.environment, service: service).load(yaml: yaml)
            return []
        } catch {
            return error.errors.map(\.description)
        }
    }

    /// The keys policy integrity added: `opaque`, `command`/`flags`, `max_token_bytes`,
    /// `session_expiry`; opaque reviewers default to the approval rules' groups, or to
    /// `admin_groups` on a connection without approval rules.
    @Test func policyIntegrityKeys() throws {
        var yaml = Self.valid()
            .replacingOccurrences(of: "  audience: access-gateway\n", with: "  audience: access-gateway\n  max_token_bytes: 4096\n  session_expiry: keep\n")
            .replacingOccurrences(of: "    record: true", with: "    record: true\n    opaque: block")
            .replacingOccurrences(of: "guardrails: [{ name: no-rm-rf, pattern: 'rm\\s+-[a-z]*r[a-z]*f', message: \"recursive force delete is blocked\" }]", with: "guardrails: [{ name: no-rm-rf, command: rm, flags: [recursive, force] }]")
        let configuration = try ConfigurationLoader(environment: environment).load(yaml: yaml)
        #expect(configuration.identity.maxTokenBytes == 4096)
        #expect(configuration.identity.sessionExpiry == .keep)
        let orders = try #require(configuration.connection(named: "orders"))
        #expect(orders.opaque == .block)
        #expect(orders.opaqueReviewers == ["dba"])
        let web = try #require(configuration.connection(named: "web-1"))
        #expect(web.guardrails[0].command == CommandMatcher(command: "rm", flags: ["recursive", "force"]))
        #expect(web.opaque == .review)
        #expect(web.opaqueReviewers == ["security"])
        yaml = yaml.replacingOccurrences(of: "opaque: block", with: "opaque: sometimes")
        #expect(errors(yaml).contains { $0.contains("connections[0].opaque") && $0.contains("review, block or allow") })
        let pathCommand = Self.valid().replacingOccurrences(of: "guardrails: [{ name: no-rm-rf, pattern: 'rm\\s+-[a-z]*r[a-z]*f', message: \"recursive force delete is blocked\" }]", with: "guardrails: [{ name: x, command: /bin/rm }]")
        #expect(errors(pathCommand).contains { $0.contains("command") && $0.contains("without a path") })
        let flagsAlone = Self.valid().replacingOccurrences(of: "guardrails: [{ name: no-rm-rf, pattern: 'rm\\s+-[a-z]*r[a-z]*f', message: \"recursive force delete is blocked\" }]", with: "guardrails: [{ name: x, flags: [force] }]")
        #expect(errors(flagsAlone).contains { $0.contains("flags need a command") })
        let sqlCommand = Self.valid().replacingOccurrences(of: "- { name: no-unbounded-delete, statement: delete_without_where }", with: "- { name: x, command: rm }")
        #expect(errors(sqlCommand).contains { $0.contains("ssh and kube connections only") })
    }

    @Test func recordTakesTrueFalseOrBestEffort() throws {
        let loader = ConfigurationLoader(environment: environment)
        for (text, mode) in [("true", RecordingMode.required), ("false", .off), ("best_effort", .bestEffort)] {
            let yaml = Self.valid().replacingOccurrences(of: "    record: true", with: "    record: \(text)")
            let connection = try #require(try loader.load(yaml: yaml).connections.first)
            #expect(connection.recording == mode)
            #expect(connection.record == (mode != .off))
        }
        // Unset: required, as the contract's default true.
        let unset = Self.valid().replacingOccurrences(of: "    record: true\n", with: "")
        #expect(try loader.load(yaml: unset).connections.first?.recording == .required)
        let wrong = Self.valid().replacingOccurrences(of: "    record: true", with: "    record: sometimes")
        #expect(errors(wrong) == ["connections[0].record: must be true, false or best_effort (got \"sometimes\")"])
    }

    @Test func unknownKeyIsNamed() {
        let yaml = Self.valid().replacingOccurrences(of: "    record: true", with: "    record: true\n    recrod: false")
        #expect(errors(yaml) == ["connections[0].recrod: unknown key"])
        #expect(errors(Self.valid(extra: "colour: blue")) == ["colour: unknown key"])
    }

    @Test func badRegexIsNamed() {
        let yaml = Self.valid().replacingOccurrences(of: "rm\\s+-[a-z]*r[a-z]*f", with: "rm(\\s+")
        let found = errors(yaml)
        #expect(found.count == 1)
        #expect(found.first?.hasPrefix("connections[1].guardrails[0].pattern: invalid regular expression") == true)
    }

    @Test func duplicateConnectionName() {
        let yaml = Self.valid().replacingOccurrences(of: "name: web-1", with: "name: orders")
        #expect(errors(yaml) == ["connections[1].name: duplicate connection name \"orders\" (first defined at connections[0])"])
    }

    @Test func missingSecretEnvironmentVariable() {
        #expect(errors(Self.valid(), environment: [:]) == ["connections[0].upstream.password_env: environment variable ORDERS_DB_PASSWORD is not set"])
        // The ssh gateway does not need the postgres connection's secret.
        #expect(errors(Self.valid(), environment: [:], service: .ssh).isEmpty)
    }

    /// A whole value of `${NAME}` or `${NAME:-default}` comes from the environment; `${`
    /// inside a value (a guardrail's pattern) is left as written.
    @Test func environmentSubstitutionOfWholeValues() throws {
        var yaml = Self.valid().replacingOccurrences(of: "issuer: https://idp.example.com", with: "issuer: ${IDP_ISSUER}")
        yaml = yaml.replacingOccurrences(of: "audience: access-gateway", with: "audience: ${IDP_AUDIENCE:-access-gateway}")
        yaml = yaml.replacingOccurrences(of: "pattern: 'rm\\s+-[a-z]*r[a-z]*f'", with: "pattern: '\\$\\{IFS\\}rm'")
        let loaded = try ConfigurationLoader(environment: environment.merging(["IDP_ISSUER": "https://login.example.com"]) { $1 }).load(yaml: yaml)
        #expect(loaded.identity.issuer == "https://login.example.com")
        #expect(loaded.identity.audience == "access-gateway")
        #expect(errors(yaml) == ["identity.issuer: environment variable IDP_ISSUER is not set (the value is ${IDP_ISSUER})"])
        let overridden = try ConfigurationLoader(environment: environment.merging(["IDP_ISSUER": "https://a.example", "IDP_AUDIENCE": "other"]) { $1 }).load(yaml: yaml)
        #expect(overridden.identity.audience == "other")
    }

    /// The PostgreSQL store's password from a file or the environment, kept out of the URL.
    @Test func stateStorePasswordFromAFile() throws {
        let file = NSTemporaryDirectory() + "gateway-state-password-\(UUID().uuidString.prefix(6))"
        try "p@ss:w/rd\n".write(toFile: file, atomically: true, encoding: .utf8)
        let postgres = Self.valid().replacingOccurrences(
            of: "url: sqlite:///tmp/gateway-test/state.sqlite",
            with: "url: postgres://gateway@db.internal:5432/gateway?sslmode=require\n  password_file: \(file)"
        )
        let loaded = try ConfigurationLoader(environment: environment).load(yaml: postgres)
        guard case .postgres(let url) = loaded.state.backend else {
            Issue.record("not a postgres store")
            return
        }
        let components = try #require(URLComponents(string: url))
        #expect(components.password == "p@ss:w/rd")
        #expect(components.user == "gateway" && components.host == "db.internal" && components.port == 5432)
        #expect(!loaded.state.url.contains("p@ss"), "the URL kept for display has no password")
        let twice = postgres.replacingOccurrences(of: "postgres://gateway@", with: "postgres://gateway:inline@")
        #expect(errors(twice) == ["state.url: the url already holds a password; give it in one place"])
        let sqlite = Self.valid().replacingOccurrences(of: "url: sqlite:///tmp/gateway-test/state.sqlite", with: "url: sqlite:///tmp/s.sqlite\n  password_file: \(file)")
        #expect(errors(sqlite).contains("state.password_file: is for a postgres:// store; an SQLite file has no password"))
    }

    /// Keys the admin API trusts for recording seals besides the instance's own signing key.
    @Test func trustedRecordingKeys() throws {
        let key = Data(repeating: 7, count: 32).base64EncodedString()
        let yaml = Self.valid().replacingOccurrences(
            of: "  dir: /tmp/gateway-test/recordings\n", with: "  dir: /tmp/gateway-test/recordings\n  trusted_keys: [\"\(key)\"]\n"
        )
        #expect(try ConfigurationLoader(environment: environment).load(yaml: yaml).recordings.trustedKeys == [key])
        #expect(try ConfigurationLoader(environment: environment).load(yaml: Self.valid()).recordings.trustedKeys == [])
        let short = yaml.replacingOccurrences(of: key, with: Data(repeating: 7, count: 16).base64EncodedString())
        #expect(errors(short) == ["recordings.trusted_keys: entry 1 is not a base64 Ed25519 public key (32 bytes), as `gatewayctl recordings verify --public-key` takes"])
        #expect(errors(yaml.replacingOccurrences(of: key, with: "not base64!")).count == 1)
    }

    @Test func unreadableFile() {
        let yaml = Self.valid().replacingOccurrences(of: Self.keyFile, with: "/nonexistent/key")
        #expect(errors(yaml) == ["connections[1].upstream.private_key_file: cannot read /nonexistent/key"])
    }

    @Test func unknownStatementKindAndEntity() {
        var yaml = Self.valid().replacingOccurrences(of: "statement: delete_without_where", with: "statement: delete_all")
        yaml = yaml.replacingOccurrences(of: "AWS_ACCESS_KEY, JWT]", with: "AWS_ACCESS_KEY, JWT, PASSPORT]")
        let found = errors(yaml)
        #expect(found.count == 2)
        #expect(found.contains { $0.hasPrefix("connections[0].guardrails[1].statement: unknown statement kind \"delete_all\"") })
        #expect(found.contains { $0.hasPrefix("connections[0].masking.entities[8]: unknown entity \"PASSPORT\"") })
    }

    @Test func missingRequiredSections() {
        let found = errors("connections: []\n")
        #expect(found.contains("identity: is required"))
        #expect(found.contains("state: is required"))
        #expect(found.contains("recordings: is required"))
    }

    @Test func badValues() {
        var yaml = Self.valid().replacingOccurrences(of: "name: web-1", with: "name: Web_1")
        yaml = yaml.replacingOccurrences(of: "timeout: 10m", with: "timeout: soon")
        yaml = yaml.replacingOccurrences(of: "listen: 127.0.0.1:15432", with: "listen: nowhere")
        yaml = yaml.replacingOccurrences(of: "type: postgres", with: "type: mysql")
        let found = errors(yaml)
        #expect(found.contains("connections[1].name: must match [a-z0-9-]+"))
        #expect(found.contains("connections[0].approvals[0].timeout: expected a duration such as 30s, 10m or 1h"))
        #expect(found.contains("services.postgres.listen: expected host:port"))
        #expect(found.contains("connections[0].type: must be postgres, ssh or kube (got \"mysql\")"))
    }

    @Test func statementKindOnSSHConnectionIsRefused() {
        let yaml = Self.valid().replacingOccurrences(of: "pattern: 'rm\\s+-[a-z]*r[a-z]*f'", with: "statement: ddl")
        #expect(errors(yaml).contains("connections[1].guardrails[0].statement: statement kinds apply to postgres connections only"))
    }

    @Test func approvalWindowGrant() throws {
        let yaml = Self.valid().replacingOccurrences(of: "timeout: 10m }", with: "timeout: 10m, grant: window, duration: 30m, min_approvals: 2, require_all_groups: true }")
            .replacingOccurrences(of: "min_approvals: 1, ", with: "")
        let configuration = try ConfigurationLoader(environment: environment).load(yaml: yaml)
        let rule = try #require(configuration.connection(named: "orders")?.approvals.first)
        #expect(rule.grant == .window(seconds: 1800))
        #expect(rule.minApprovals == 2)
        #expect(rule.requireAllGroups)
    }

    @Test func notYAML() {
        #expect(errors("identity: [unclosed").first?.contains("not valid YAML") == true)
    }

    @Test func durations() {
        #expect(ConfigDuration.seconds(from: "90") == 90)
        #expect(ConfigDuration.seconds(from: "500ms") == 0.5)
        #expect(ConfigDuration.seconds(from: "1h30m") == 5400)
        #expect(ConfigDuration.seconds(from: "2d") == 172_800)
        #expect(ConfigDuration.seconds(from: "10x") == nil)
        #expect(ConfigDuration.seconds(from: "m") == nil)
    }
}

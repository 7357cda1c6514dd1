import Foundation
import GatewayConfig
import GatewayPolicy
import Testing

/// Kubernetes API requests under guardrails and approvals by verb, resource, namespace and
/// name; command rules and API rules never cross.
@Suite("API request policy")
struct APIRequestPolicyTests {
    static let agent = Identity(subject: "agent", groups: ["agents"], issuer: "https://idp.example.com", expiresAt: .distantFuture)

    static func policy() throws -> ConnectionPolicy {
        let yaml = """
        identity: { issuer: https://idp.example.com, audience: gw }
        state: { url: "sqlite:///tmp/api-policy-test.sqlite" }
        recordings: { dir: /tmp/api-policy-test }
        services: { kube: { listen: 127.0.0.1:16443, admin: 127.0.0.1:8433 } }
        connections:
          - name: prod
            type: kube
            upstream: { url: https://127.0.0.1:6443, token_file: /dev/null }
            allow_groups: [agents]
            api_passthrough: all
            guardrails:
              - { name: no-delete, verbs: [delete, deletecollection], resources: [pods, deployments, namespaces] }
              - { name: no-kube-system, namespaces: [kube-system], verbs: [create, update, patch, delete] }
              - { name: no-rm-rf, command: rm, flags: [recursive, force] }
            approvals:
              - { name: scaling, verbs: [patch, update], resources: [deployments/scale], reviewer_groups: [sre] }
        """
        let configuration = try ConfigurationLoader(environment: [:], resolveSecrets: false).load(yaml: yaml)
        return configuration.connections[0].policy
    }

    static func decide(_ request: APIRequest) throws -> Decision {
        PolicyEngine().decide(.api(request), by: agent, on: try policy())
    }

    @Test func deletesAreBlockedByVerbAndResource() throws {
        let decision = try Self.decide(APIRequest(verb: "delete", resource: "pods", namespace: "default", name: "web-1"))
        #expect(decision.kind == "block")
        if case .block(let rule, let message, _) = decision {
            #expect(rule == "no-delete")
            #expect(message.contains("delete, deletecollection of pods, deployments, namespaces"))
        }
        #expect(try Self.decide(APIRequest(verb: "deletecollection", resource: "pods", namespace: "default")).kind == "block")
        // Another resource, or another verb, passes.
        #expect(try Self.decide(APIRequest(verb: "delete", resource: "configmaps", namespace: "default", name: "x")).kind == "allow")
        #expect(try Self.decide(APIRequest(verb: "get", resource: "pods", namespace: "default", name: "web-1")).kind == "allow")
    }

    @Test func namespacesNarrowARule() throws {
        #expect(try Self.decide(APIRequest(verb: "create", resource: "configmaps", namespace: "kube-system")).kind == "block")
        #expect(try Self.decide(APIRequest(verb: "create", resource: "configmaps", namespace: "default")).kind == "allow")
        // A cluster-scoped request has no namespace: a namespace rule does not hold it.
        #expect(try Self.decide(APIRequest(verb: "create", resource: "clusterroles")).kind == "allow")
    }

    @Test func scalingIsHeldForReview() throws {
        let decision = try Self.decide(APIRequest(verb: "patch", resource: "deployments/scale", namespace: "prod", name: "api"))
        guard case .hold(let rule, let statement) = decision else { Issue.record("not held: \(decision)"); return }
        #expect(rule.name == "scaling")
        #expect(statement == "patch deployments/scale/api -n prod")
        // A patch of the deployment itself is not its scale subresource.
        #expect(try Self.decide(APIRequest(verb: "patch", resource: "deployments", namespace: "prod", name: "api")).kind == "allow")
        let policy = try Self.policy()
        #expect(PolicyEngine().matches(policy.approvals[0], command: .api(APIRequest(verb: "update", resource: "deployments/scale", namespace: "x", name: "y"))))
        #expect(!PolicyEngine().matches(policy.approvals[0], command: .exec(["kubectl", "scale"])))
    }

    @Test func commandRulesAndAPIRulesDoNotCross() throws {
        // The exec guardrail blocks rm -rf; no API rule applies to a command.
        #expect(PolicyEngine().decide(.exec(["rm", "-rf", "/data"]), by: Self.agent, on: try Self.policy()).kind == "block")
        #expect(PolicyEngine().decide(.exec(["sh", "-c", "echo delete pods"]), by: Self.agent, on: try Self.policy()).kind == "allow")
        // A request whose summary holds "rm -rf" is not a command.
        #expect(try Self.decide(APIRequest(verb: "get", resource: "configmaps", namespace: "rm -rf", name: "x")).kind == "allow")
    }

    @Test func apiRulesAreForKubeConnectionsOnly() {
        let yaml = """
        identity: { issuer: https://idp.example.com, audience: gw }
        state: { url: "sqlite:///tmp/api-policy-test.sqlite" }
        recordings: { dir: /tmp/api-policy-test }
        services: { ssh: { listen: 127.0.0.1:1, admin: 127.0.0.1:2, host_key_file: /tmp/api-policy-test/key } }
        connections:
          - name: web
            type: ssh
            upstream: { host: 127.0.0.1, port: 22, user: u, private_key_file: /dev/null, host_key: "ssh-ed25519 AAAA" }
            allow_groups: [agents]
            guardrails: [{ name: no-delete, verbs: [delete], resources: [pods] }]
        """
        #expect(throws: ConfigurationErrors.self) { try ConfigurationLoader(environment: [:], resolveSecrets: false).load(yaml: yaml) }
    }

    @Test func kubeServiceAndConnectionSettingsAreRead() throws {
        let yaml = """
        identity: { issuer: https://idp.example.com, audience: gw }
        state: { url: "sqlite:///tmp/api-policy-test.sqlite" }
        recordings: { dir: /tmp/api-policy-test }
        services: { kube: { listen: 127.0.0.1:16443, admin: 127.0.0.1:8433, held_request_wait: 40s } }
        connections:
          - { name: a, type: kube, upstream: { url: https://127.0.0.1:6443, token_file: /dev/null }, allow_groups: [x], allow_port_forwarding: true }
          - { name: b, type: kube, upstream: { url: https://127.0.0.1:6443, token_file: /dev/null }, allow_groups: [x] }
        """
        let configuration = try ConfigurationLoader(environment: [:], resolveSecrets: false).load(yaml: yaml)
        #expect(configuration.services.kube?.heldRequestWait == 40)
        #expect(configuration.connections.map(\.allowPortForwarding) == [true, false])
        // The default, and a wait out of range.
        let plain = try ConfigurationLoader(environment: [:], resolveSecrets: false).load(yaml: yaml.replacingOccurrences(of: ", held_request_wait: 40s", with: ""))
        #expect(plain.services.kube?.heldRequestWait == 25)
        #expect(throws: ConfigurationErrors.self) {
            try ConfigurationLoader(environment: [:], resolveSecrets: false).load(yaml: yaml.replacingOccurrences(of: "40s", with: "2h"))
        }
    }
}

import Foundation
import GatewayTesting

/// A configuration file for end-to-end runs: a test identity provider, a state store, a
/// recordings folder and one connection per gateway kind.
struct GatewayFixture {
    let directory: String
    let idp: TestIdentityProvider
    let stateURL: String
    let ports: [String: Int]
    let upstreamPort: Int

    static func make(idp: TestIdentityProvider, stateURL: String? = nil, directory: String? = nil) throws -> GatewayFixture {
        let directory = directory ?? NSTemporaryDirectory() + "gateway-e2e-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        try "key".write(toFile: directory + "/upstream_key", atomically: true, encoding: .utf8)
        try "token".write(toFile: directory + "/kube_token", atomically: true, encoding: .utf8)
        var ports: [String: Int] = [:]
        for name in ["pg", "pg-admin", "ssh", "ssh-admin", "kube", "kube-admin"] { ports[name] = ProcessRunner.freePort() }
        return GatewayFixture(
            directory: directory, idp: idp, stateURL: stateURL ?? "sqlite://\(directory)/state.sqlite", ports: ports,
            upstreamPort: ProcessRunner.freePort()
        )
    }

    var configPath: String { directory + "/gateway.yaml" }
    var recordingsDirectory: String { directory + "/recordings" }

    func write() throws {
        let yaml = """
            identity:
              issuer: \(idp.issuer)
              audience: \(idp.audience)
            state:
              url: \(stateURL)
            recordings:
              dir: \(recordingsDirectory)
            admin_groups: [security]
            services:
              postgres: { listen: 127.0.0.1:\(ports["pg"]!), admin: 127.0.0.1:\(ports["pg-admin"]!) }
              ssh: { listen: 127.0.0.1:\(ports["ssh"]!), admin: 127.0.0.1:\(ports["ssh-admin"]!), host_key_file: \(directory)/host_key }
              kube: { listen: 127.0.0.1:\(ports["kube"]!), admin: 127.0.0.1:\(ports["kube-admin"]!) }
            connections:
              - name: orders
                type: postgres
                upstream: { host: 127.0.0.1, port: \(upstreamPort), database: orders, user: app, password_env: ORDERS_DB_PASSWORD }
                allow_groups: [agents]
                approvals:
                  - { name: writes, pattern: '(?i)^\\s*(update|delete|insert)\\b', reviewer_groups: [dba], timeout: 10m }
              - name: web-1
                type: ssh
                upstream: { host: 127.0.0.1, port: \(upstreamPort), user: deploy, private_key_file: \(directory)/upstream_key, host_key: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIExample" }
                allow_groups: [agents]
              - name: cluster
                type: kube
                upstream: { url: "https://127.0.0.1:\(upstreamPort)", token_file: \(directory)/kube_token }
                allow_groups: [agents]
            """
        try yaml.write(toFile: configPath, atomically: true, encoding: .utf8)
    }
}

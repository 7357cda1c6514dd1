import Foundation
import GatewayConfig
import GatewayTesting
import Testing
import Yams

/// No container engine runs here, so the compose stack is checked as files: the compose file,
/// the Dockerfile's per-gateway stages and the stack's gateway configuration must agree on
/// ports, health-check URLs, targets and copied paths, and each image must run unprivileged
/// and drain on SIGTERM.
@Suite("Compose stack")
struct ComposeStackTests {
    static let root = FileManager.default.currentDirectoryPath
    /// Compose service (and Dockerfile stage, and binary) → the gateway's services key.
    static let gateways = ["postgres-gateway": "postgres", "ssh-gateway": "ssh", "kube-exec-gateway": "kube"]

    static func yaml(_ path: String) throws -> [String: Any] {
        try #require(try Yams.load(yaml: String(contentsOfFile: root + "/" + path, encoding: .utf8)) as? [String: Any])
    }

    static func port(_ address: String) -> Int? { address.split(separator: ":").last.flatMap { Int($0) } }

    /// The Dockerfile's stages by name, each with its instruction lines.
    static func stages() throws -> [String: [String]] {
        let text = try String(contentsOfFile: root + "/compose/Dockerfile", encoding: .utf8)
        var stages: [String: [String]] = [:]
        var current = ""
        for line in text.split(separator: "\n").map(String.init) where !line.hasPrefix("#") {
            if line.hasPrefix("FROM "), let name = line.components(separatedBy: " AS ").last, line.contains(" AS ") {
                current = name.trimmingCharacters(in: .whitespaces)
            }
            stages[current, default: []].append(line)
        }
        return stages
    }

    @Test func composeDockerfileAndConfigurationAgree() throws {
        let compose = try Self.yaml("compose/docker-compose.yml")
        let configuration = try Self.yaml("compose/gateway.yaml")
        let services = try #require(compose["services"] as? [String: Any])
        let settings = try #require(configuration["services"] as? [String: [String: Any]])
        let stages = try Self.stages()
        let runtime = try #require(stages["runtime"])
        #expect(runtime.contains("STOPSIGNAL SIGTERM"))
        #expect(runtime.contains("USER gateway"), "the images run unprivileged")
        for (name, kind) in Self.gateways {
            let service = try #require(services[name] as? [String: Any], "compose service \(name)")
            let listenAddress = settings[kind]?["listen"] as? String ?? ""
            let adminAddress = settings[kind]?["admin"] as? String ?? ""
            let listen = try #require(Self.port(listenAddress))
            let admin = try #require(Self.port(adminAddress))
            // The image is the Dockerfile's stage of that name, which runs that gateway.
            let build = try #require(service["build"] as? [String: Any])
            #expect(build["target"] as? String == name)
            #expect(build["dockerfile"] as? String == "compose/Dockerfile")
            let stage = try #require(stages[name], "Dockerfile stage \(name)")
            #expect(stage.first == "FROM runtime AS \(name)")
            #expect(stage.contains("ENTRYPOINT [\"/usr/local/bin/\(name)\"]"))
            #expect(stage.contains("COPY --from=build /out/\(name) /usr/local/bin/\(name)"))
            #expect(stage.contains("EXPOSE \(listen) \(admin)"))
            // One health check, on the admin port the configuration gives, in both files.
            let url = "http://127.0.0.1:\(admin)/healthz"
            #expect(stage.contains { $0.hasPrefix("HEALTHCHECK") && $0.contains("\"\(url)\"") }, "\(name): \(stage)")
            let health = try #require(service["healthcheck"] as? [String: Any], "\(name) has a health check")
            #expect((health["test"] as? [String])?.last == url)
            let ports = (service["ports"] as? [String]) ?? []
            #expect(ports.contains("\(listen):\(listen)") && ports.contains("\(admin):\(admin)"), "\(name): \(ports)")
            #expect(service["stop_signal"] as? String == "SIGTERM")
        }
        // What the build stage copies exists; what the stack mounts from compose/ exists.
        for line in try #require(stages["build"]) where line.hasPrefix("COPY ") && !line.contains("--from") {
            let source = line.split(separator: " ")[1]
            #expect(FileManager.default.fileExists(atPath: Self.root + "/" + source), "COPY \(source)")
        }
        let shared = (compose["x-gateway"] as? [String: Any])?["volumes"] as? [String] ?? []
        let configMount = try #require(shared.first { $0.hasSuffix(":/etc/gateway/gateway.yaml:ro") })
        let mounted = String(configMount.split(separator: ":")[0])
        #expect(FileManager.default.fileExists(atPath: Self.root + "/compose/" + mounted), "\(configMount)")
    }

    /// Every service has a health check; every dependency exists and is waited for healthy;
    /// a gateway started alone brings no other gateway.
    @Test func everyServiceIsHealthCheckedAndWaitedFor() throws {
        let compose = try Self.yaml("compose/docker-compose.yml")
        let services = try #require(compose["services"] as? [String: [String: Any]])
        #expect(Set(services.keys).isSuperset(of: ["state", "orders-db", "demo-idp", "demo-sshd"] + Self.gateways.keys))
        func dependencies(_ name: String) -> [String: [String: String]] {
            services[name]?["depends_on"] as? [String: [String: String]] ?? [:]
        }
        for (name, service) in services {
            #expect(service["healthcheck"] != nil, "\(name) has a health check")
            for (dependency, condition) in dependencies(name) {
                #expect(services[dependency] != nil, "\(name) depends on \(dependency), which exists")
                #expect(condition["condition"] == "service_healthy", "\(name) waits for \(dependency) to be healthy")
            }
        }
        for name in Self.gateways.keys {
            #expect(dependencies(name)["state"] != nil && dependencies(name)["demo-idp"] != nil, "\(name) waits for the store and the IdP")
            var reached = Set<String>()
            var next = [name]
            while let current = next.popLast() {
                for dependency in dependencies(current).keys where reached.insert(dependency).inserted { next.append(dependency) }
            }
            #expect(reached.isDisjoint(with: Self.gateways.keys), "\(name) starts alone: \(reached)")
        }
        #expect(dependencies("postgres-gateway")["orders-db"] != nil)
        #expect(dependencies("ssh-gateway")["demo-sshd"] != nil)
        // The demo target's schema is the one scripts/demo loads.
        let ordersVolumes = services["orders-db"]?["volumes"] as? [String] ?? []
        #expect(ordersVolumes.contains("./demo/schema.sql:/docker-entrypoint-initdb.d/10-schema.sql:ro"))
        #expect(try String(contentsOfFile: Self.root + "/scripts/demo", encoding: .utf8).contains("compose/demo/schema.sql"))
    }

    /// The secrets compose mounts are the ones the configuration and the demo sshd read, and
    /// compose/make-secrets creates every one of them; the stack's configuration then loads.
    @Test func secretsAreMountedWhereTheyAreReadAndAllCreated() throws {
        let compose = try Self.yaml("compose/docker-compose.yml")
        let services = try #require(compose["services"] as? [String: [String: Any]])
        let declared = try #require(compose["secrets"] as? [String: [String: String]])
        let shared = Set((compose["x-gateway"] as? [String: Any])?["secrets"] as? [String] ?? [])
        func mounted(_ service: String) -> Set<String> { Set(services[service]?["secrets"] as? [String] ?? []) }
        for (name, service) in services {
            for secret in service["secrets"] as? [String] ?? [] {
                #expect(declared[secret] != nil, "\(name) mounts secret \(secret), which is declared")
            }
        }
        // Each /run/secrets/NAME the configuration reads is mounted in every gateway that
        // reads it: the store's password and TLS in all, a connection's in its gateway.
        let text = try String(contentsOfFile: Self.root + "/compose/gateway.yaml", encoding: .utf8)
        let lines = text.split(separator: "\n").map(String.init).filter { !$0.trimmingCharacters(in: .whitespaces).hasPrefix("#") }
        func secretNames(_ line: String) -> [String] {
            line.components(separatedBy: "/run/secrets/").dropFirst().map { String($0.prefix { $0.isLetter || $0.isNumber || $0 == "_" }) }
        }
        var section = ""
        var top = ""
        for line in lines {
            // Outside `connections:` (state, tls, recordings...) every gateway reads it.
            if let first = line.first, !first.isWhitespace { top = String(line.prefix { $0 != ":" }) }
            if line.contains("type: postgres") { section = "postgres-gateway" }
            if line.contains("type: ssh") { section = "ssh-gateway" }
            for name in secretNames(line) {
                if top != "connections" {
                    #expect(shared.contains(name), "every gateway mounts \(name)")
                    for gateway in Self.gateways.keys where services[gateway]?["secrets"] != nil {
                        #expect(mounted(gateway).contains(name), "\(gateway) mounts \(name)")
                    }
                } else {
                    #expect(mounted(section).contains(name), "\(section) mounts \(name), which its connection reads")
                }
            }
        }
        let entrypoint = try String(contentsOfFile: Self.root + "/compose/demo/sshd-entrypoint", encoding: .utf8)
        for name in entrypoint.split(separator: "\n").flatMap({ secretNames(String($0)) }) {
            #expect(mounted("demo-sshd").contains(name), "demo-sshd mounts \(name)")
        }

        // make-secrets creates every declared file, and the host-key pin compose substitutes.
        let directory = NSTemporaryDirectory() + "gateway-compose-secrets-\(UUID().uuidString.prefix(8))"
        _ = try ProcessRunner.run(Self.root + "/compose/make-secrets", [directory])
        for (name, entry) in declared {
            let file = try #require(entry["file"], "\(name) is a file")
            #expect(file.hasPrefix("./secrets/"))
            let path = directory + "/" + file.dropFirst("./secrets/".count)
            #expect((try? Data(contentsOf: URL(fileURLWithPath: path)))?.isEmpty == false, "make-secrets creates \(file)")
        }
        let pin = try String(contentsOfFile: directory + "/.env", encoding: .utf8)
        let hostKey = try String(contentsOfFile: directory + "/demo_sshd_host_key.pub", encoding: .utf8).split(separator: " ").prefix(2).joined(separator: " ")
        #expect(pin == "DEMO_SSHD_HOST_KEY=\"\(hostKey)\"\n")
        // Run again, it keeps what is there.
        let before = try Data(contentsOf: URL(fileURLWithPath: directory + "/web_1_key"))
        _ = try ProcessRunner.run(Self.root + "/compose/make-secrets", [directory])
        #expect(try Data(contentsOf: URL(fileURLWithPath: directory + "/web_1_key")) == before)

        // The stack's configuration, with the environment compose gives the gateways and the
        // secrets where compose mounts them (here: where make-secrets wrote them), resolves.
        let mountedHere = text.replacingOccurrences(of: "/run/secrets/", with: directory + "/")
        let configuration = try ConfigurationLoader(environment: ["DEMO_SSHD_HOST_KEY": hostKey]).load(yaml: mountedHere)
        #expect(configuration.identity.issuer == "http://demo-idp:9100")
        #expect(configuration.connections.map(\.name) == ["orders", "web-1"])
        // The demo IdP's issuer is the one the stack's configuration trusts.
        let idp = try #require(try Self.stages()["demo-idp"])
        #expect(idp.contains { $0.hasPrefix("CMD") && $0.contains("\"--issuer\", \"http://demo-idp:9100\"") })
    }
}

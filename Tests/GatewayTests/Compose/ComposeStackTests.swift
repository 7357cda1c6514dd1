import Foundation
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
        // The gateways wait for the state store to be healthy.
        let depends = (compose["x-gateway"] as? [String: Any])?["depends_on"] as? [String: [String: String]]
        #expect(depends?["state"]?["condition"] == "service_healthy")
    }
}

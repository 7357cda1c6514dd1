// swift-tools-version:6.0
// libFuzzer targets, kept out of the normal build: `scripts/fuzz` builds this package with
// `-sanitize=fuzzer,address` (lld) and runs each `fuzz-*` target. `Root/access-gateway` is a
// link to the repository, so the dependency has the same identity whatever the checkout is called.
import PackageDescription

let root = "access-gateway"

func fuzzTarget(_ name: String, path: String, _ products: [String]) -> Target {
    .executableTarget(
        name: name,
        dependencies: ["FuzzDriver"] + products.map { .product(name: $0, package: root) },
        path: "Targets/" + path
    )
}

let package = Package(
    name: "access-gateway-fuzz",
    platforms: [.macOS(.v15)],
    dependencies: [.package(path: "Root/access-gateway")],
    targets: [
        .target(name: "FuzzDriver", path: "Targets/Driver"),
        fuzzTarget("fuzz-postgres-wire", path: "PostgresWire", ["PostgresWireFuzzing"]),
        fuzzTarget("fuzz-sql-policy", path: "SQLPolicy", ["GatewayPolicy"]),
        fuzzTarget("fuzz-shell", path: "Shell", ["GatewayPolicy"]),
        fuzzTarget("fuzz-masking", path: "Masking", ["GatewayMasking"]),
        fuzzTarget("fuzz-config", path: "Config", ["GatewayConfig"]),
        fuzzTarget("fuzz-jwt", path: "JWT", ["GatewayIdentity", "GatewayConfig", "GatewayPolicy", "GatewayTesting"]),
        fuzzTarget("fuzz-ssh-formats", path: "SSHFormats", ["SSHGatewayCore"]),
        fuzzTarget("fuzz-kube-streams", path: "KubeStreams", ["KubeExecGatewayCore"]),
    ]
)

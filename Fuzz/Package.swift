// swift-tools-version:6.0
// libFuzzer targets, kept out of the normal build: `scripts/fuzz` builds this package with
// `-sanitize=fuzzer,address` (lld) and runs each `fuzz-*` target. `Root/access-gateway` is a
// link to the repository, so the dependency has the same identity whatever the checkout is called.
import PackageDescription

let root = "access-gateway"

func fuzzTarget(_ name: String, path: String, _ products: [String], also: [Target.Dependency] = []) -> Target {
    .executableTarget(
        name: name,
        dependencies: ["FuzzDriver"] + products.map { .product(name: $0, package: root) } + also,
        path: "Targets/" + path
    )
}

let package = Package(
    name: "access-gateway-fuzz",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(path: "Root/access-gateway"),
        // The JWT target signs its seed token itself (the root package resolves the same version).
        .package(url: "https://github.com/apple/swift-crypto.git", "3.12.3"..<"5.0.0"),
    ],
    targets: [
        .target(name: "FuzzDriver", path: "Targets/Driver"),
        fuzzTarget("fuzz-postgres-wire", path: "PostgresWire", ["PostgresWireFuzzing"]),
        fuzzTarget("fuzz-sql-policy", path: "SQLPolicy", ["GatewayPolicy"]),
        fuzzTarget("fuzz-shell", path: "Shell", ["GatewayPolicy"]),
        fuzzTarget("fuzz-masking", path: "Masking", ["GatewayMasking"]),
        fuzzTarget("fuzz-config", path: "Config", ["GatewayConfig"]),
        // Not GatewayTesting: with it, the fuzz build compiled AsyncHTTPClient, NIOSSL and
        // NIOHTTP2 for this target alone.
        fuzzTarget("fuzz-jwt", path: "JWT", ["GatewayIdentity", "GatewayConfig", "GatewayPolicy"], also: [.product(name: "Crypto", package: "swift-crypto")]),
        fuzzTarget("fuzz-ssh-formats", path: "SSHFormats", ["SSHGatewayCore"]),
        fuzzTarget("fuzz-kube-streams", path: "KubeStreams", ["KubeExecGatewayCore"]),
    ]
)

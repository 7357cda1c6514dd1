// swift-tools-version:6.0
// libFuzzer targets, kept out of the normal build: `scripts/fuzz` builds this package with
// `-sanitize=fuzzer,address` (lld) and runs each target. `Root/access-gateway` is a link to
// the repository, so the dependency has the same identity whatever the checkout is called.
import PackageDescription

let package = Package(
    name: "access-gateway-fuzz",
    platforms: [.macOS(.v15)],
    dependencies: [.package(path: "Root/access-gateway")],
    targets: [
        .executableTarget(
            name: "fuzz-kube-streams",
            dependencies: [.product(name: "KubeExecGatewayCore", package: "access-gateway")],
            path: "Targets/KubeStreams"
        ),
    ]
)

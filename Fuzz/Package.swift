// swift-tools-version: 6.2
// Fuzz targets, kept out of the normal build. Run (libFuzzer, address sanitizer):
//   swift build --package-path Fuzz -c debug -Xswiftc -sanitize=fuzzer,address --product FuzzWire
//   Fuzz/.build/debug/FuzzWire -max_total_time=60 Fuzz/Corpus/Wire
// Crash inputs found are kept as regression tests in Tests/GatewayTests/Fuzz.
import PackageDescription

let package = Package(
    name: "access-gateway-fuzz",
    platforms: [.macOS(.v15)],
    dependencies: [.package(path: "..")],
    targets: [
        .executableTarget(
            name: "FuzzWire",
            dependencies: [.product(name: "PostgresWireFuzzing", package: "access-gateway")],
            swiftSettings: [.swiftLanguageMode(.v6)]
        ),
        .executableTarget(
            name: "FuzzPolicy",
            dependencies: [.product(name: "PostgresWireFuzzing", package: "access-gateway")],
            swiftSettings: [.swiftLanguageMode(.v6)]
        ),
    ]
)

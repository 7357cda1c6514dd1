// swift-tools-version: 6.2
import PackageDescription

let strict: [SwiftSetting] = [.swiftLanguageMode(.v6)]

let package = Package(
    name: "access-gateway",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "postgres-gateway", targets: ["PostgresGateway"]),
        .executable(name: "ssh-gateway", targets: ["SSHGateway"]),
        .executable(name: "kube-exec-gateway", targets: ["KubeExecGateway"]),
        .executable(name: "gatewayctl", targets: ["GatewayCtl"]),
        .executable(name: "gateway-bench", targets: ["GatewayBench"]),
        .executable(name: "gateway-test-helper", targets: ["GatewayTestHelper"]),
        .library(name: "GatewayTesting", targets: ["GatewayTesting"]),
        .library(name: "PostgresWireFuzzing", targets: ["PostgresWireFuzzing"]),
        // For the fuzz targets in Fuzz/ (a package of its own, so the normal build never sees them).
        .library(name: "KubeExecGatewayCore", targets: ["KubeExecGatewayCore"]),
        .library(name: "SSHGatewayCore", targets: ["SSHGatewayCore"]),
        .library(name: "GatewayPolicy", targets: ["GatewayPolicy"]),
        .library(name: "GatewayMasking", targets: ["GatewayMasking"]),
        .library(name: "GatewayConfig", targets: ["GatewayConfig"]),
        .library(name: "GatewayIdentity", targets: ["GatewayIdentity"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.37.6"),
        .package(url: "https://github.com/apple/swift-nio-ssh.git", exact: "0.15.1"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-crypto.git", "3.12.3"..<"5.0.0"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
        .package(url: "https://github.com/swift-server/async-http-client.git", from: "1.37.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1"),
        .package(url: "https://github.com/vapor/jwt-kit.git", from: "5.8.0"),
        .package(url: "https://github.com/vapor/postgres-nio.git", from: "1.33.2"),
        .package(url: "https://github.com/groue/GRDB.swift.git", from: "7.10.0"),
        .package(url: "https://github.com/jpsim/Yams.git", from: "6.2.2"),
    ],
    targets: [
        // The PostgreSQL parser (libpg_query, Debian's libpg-query-dev).
        .systemLibrary(
            name: "CPgQuery",
            path: "Shared/CPgQuery",
            providers: [.apt(["libpg-query-dev"])]
        ),
        // Pure modules: no sockets, no I/O beyond reading a file.
        .target(
            name: "GatewayMasking",
            path: "Shared/GatewayMasking",
            swiftSettings: strict
        ),
        .target(
            name: "GatewayJSON",
            path: "Shared/GatewayJSON",
            swiftSettings: strict
        ),
        .target(
            name: "GatewayPolicy",
            dependencies: ["CPgQuery"],
            path: "Shared/GatewayPolicy",
            swiftSettings: strict
        ),
        .target(
            name: "GatewayConfig",
            dependencies: [
                "GatewayPolicy", "GatewayMasking",
                .product(name: "Yams", package: "Yams"),
            ],
            path: "Shared/GatewayConfig",
            swiftSettings: strict
        ),
        .target(
            name: "GatewayIdentity",
            dependencies: [
                "GatewayConfig",
                .product(name: "JWTKit", package: "jwt-kit"),
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Shared/GatewayIdentity",
            swiftSettings: strict
        ),
        .target(
            name: "GatewayIssuerClient",
            dependencies: ["GatewayIdentity", .product(name: "AsyncHTTPClient", package: "async-http-client")],
            path: "Shared/GatewayIssuerClient",
            swiftSettings: strict
        ),
        .target(
            name: "GatewayState",
            dependencies: [
                "GatewayJSON",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "GRDBSQLite", package: "GRDB.swift"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Shared/GatewayState",
            swiftSettings: strict
        ),
        .target(
            name: "GatewayRecording",
            dependencies: [
                "GatewayJSON",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Shared/GatewayRecording",
            swiftSettings: strict
        ),
        .target(
            name: "GatewayAdmin",
            dependencies: [
                "GatewayConfig", "GatewayIdentity", "GatewayState", "GatewayRecording",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ],
            path: "Shared/GatewayAdmin",
            swiftSettings: strict
        ),
        .target(
            name: "GatewayRuntime",
            dependencies: [
                "GatewayConfig", "GatewayIdentity", "GatewayIssuerClient", "GatewayState", "GatewayRecording", "GatewayAdmin", "GatewayPolicy",
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
            ],
            path: "Shared/GatewayRuntime",
            swiftSettings: strict
        ),
        // The session core every gateway runs on: checkpoint, command channels, holds, masking, relay link, listener.
        .target(
            name: "GatewaySession",
            dependencies: [
                "GatewayAdmin", "GatewayConfig", "GatewayIdentity", "GatewayMasking", "GatewayPolicy", "GatewayRecording", "GatewayRuntime", "GatewayState",
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            path: "Shared/GatewaySession",
            swiftSettings: strict
        ),
        .target(
            name: "GatewayTesting",
            dependencies: [
                "GatewayIdentity",
                .product(name: "JWTKit", package: "jwt-kit"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "_CryptoExtras", package: "swift-crypto"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ],
            path: "Shared/GatewayTesting",
            swiftSettings: strict
        ),
        // Executables: wiring only.
        .target(
            name: "PostgresWire",
            dependencies: [.product(name: "NIOCore", package: "swift-nio"), .product(name: "Crypto", package: "swift-crypto")],
            path: "Services/PostgresGateway/Wire",
            swiftSettings: strict
        ),
        .target(
            name: "PostgresWireFuzzing",
            dependencies: ["PostgresWire", "GatewayPolicy", "GatewayMasking", .product(name: "NIOCore", package: "swift-nio")],
            path: "Services/PostgresGateway/Fuzzing",
            swiftSettings: strict
        ),
        .target(
            name: "PostgresGatewayKit",
            dependencies: [
                "PostgresWire", "GatewayRuntime", "GatewayAdmin", "GatewayMasking", "GatewaySession",
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "NIOTLS", package: "swift-nio"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "_CryptoExtras", package: "swift-crypto"),
            ],
            path: "Services/PostgresGateway/Gateway",
            swiftSettings: strict
        ),
        .executableTarget(
            name: "PostgresGateway",
            dependencies: ["GatewayRuntime", "PostgresGatewayKit", .product(name: "NIOCore", package: "swift-nio"), .product(name: "NIOPosix", package: "swift-nio")],
            path: "Services/PostgresGateway/Main",
            swiftSettings: strict
        ),
        .target(
            name: "SSHGatewayCore",
            dependencies: [.product(name: "NIOSSH", package: "swift-nio-ssh"), .product(name: "Crypto", package: "swift-crypto")],
            path: "Services/SSHGateway/Protocol",
            swiftSettings: strict
        ),
        .target(
            name: "SSHGatewayKit",
            dependencies: [
                "SSHGatewayCore", "GatewayRuntime", "GatewayMasking", "GatewayState", "GatewayRecording", "GatewayPolicy", "GatewayConfig", "GatewaySession",
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "NIOSSH", package: "swift-nio-ssh"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            path: "Services/SSHGateway/Gateway",
            swiftSettings: strict
        ),
        .executableTarget(
            name: "SSHGateway",
            dependencies: ["GatewayRuntime", "SSHGatewayKit"],
            path: "Services/SSHGateway/Main",
            swiftSettings: strict
        ),
        .systemLibrary(
            name: "CZlib",
            path: "Shared/CZlib"
        ),
        .target(
            name: "KubeExecGatewayCore",
            dependencies: ["GatewayJSON", "CZlib", .product(name: "NIOCore", package: "swift-nio")],
            path: "Services/KubeExecGateway/Protocol",
            swiftSettings: strict
        ),
        .target(
            name: "KubeExecGatewayKit",
            dependencies: [
                "KubeExecGatewayCore", "GatewayRuntime", "GatewaySession", "GatewayConfig", "GatewayPolicy", "GatewayMasking", "GatewayRecording", "GatewayState",
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOWebSocket", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            path: "Services/KubeExecGateway/Gateway",
            swiftSettings: strict
        ),
        .executableTarget(
            name: "KubeExecGateway",
            dependencies: ["GatewayRuntime", "KubeExecGatewayKit"],
            path: "Services/KubeExecGateway/Main",
            swiftSettings: strict
        ),
        .executableTarget(
            name: "GatewayCtl",
            dependencies: [
                "GatewayConfig", "GatewayRecording", "GatewayPolicy", "GatewayMasking",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
            ],
            path: "Tools/GatewayCtl",
            swiftSettings: strict
        ),
        .executableTarget(
            name: "GatewayBench",
            dependencies: [
                "GatewayMasking", "GatewayPolicy", "GatewayConfig", "GatewayState",
                .product(name: "NIOCore", package: "swift-nio"), .product(name: "NIOPosix", package: "swift-nio"),
            ],
            path: "bench/GatewayBench",
            swiftSettings: strict
        ),
        .executableTarget(
            name: "GatewayTestHelper",
            dependencies: ["GatewayRecording", "GatewayTesting"],
            path: "Tests/GatewayTestHelper",
            swiftSettings: strict
        ),
        .testTarget(
            name: "GatewayTests",
            dependencies: [
                "GatewayConfig", "GatewayIdentity", "GatewayPolicy", "GatewayMasking", "GatewayState",
                "GatewayRecording", "GatewayJSON", "GatewayAdmin", "GatewayRuntime", "GatewayIssuerClient", "GatewaySession", "GatewayTesting", "PostgresWire", "PostgresGatewayKit", "PostgresWireFuzzing", "SSHGatewayCore", "SSHGatewayKit", "KubeExecGatewayCore", "KubeExecGatewayKit", .product(name: "NIOSSH", package: "swift-nio-ssh"), .product(name: "NIOEmbedded", package: "swift-nio"), .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "JWTKit", package: "jwt-kit"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Yams", package: "Yams"),
            ],
            path: "Tests/GatewayTests",
            swiftSettings: strict
        ),
    ]
)

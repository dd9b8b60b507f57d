// swift-tools-version:6.1
import PackageDescription

let swiftSettings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("InternalImportsByDefault"),
]

let nio: [Target.Dependency] = [
    .product(name: "NIOCore", package: "swift-nio"),
    .product(name: "NIOPosix", package: "swift-nio"),
]
let log: Target.Dependency = .product(name: "Logging", package: "swift-log")
let metrics: Target.Dependency = .product(name: "CoreMetrics", package: "swift-metrics")

let package = Package(
    name: "kafka-pipe",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "kafka-pipe", targets: ["kafka-pipe"]),
        .library(name: "WireCore", targets: ["WireCore"]),
        .library(name: "Codecs", targets: ["Codecs"]),
        .library(name: "PipeAuth", targets: ["PipeAuth"]),
        .library(name: "PipeTLS", targets: ["PipeTLS"]),
        .library(name: "HTTPWire", targets: ["HTTPWire"]),
        .library(name: "PipeConfig", targets: ["PipeConfig"]),
        .library(name: "PipeRuntime", targets: ["PipeRuntime"]),
        .library(name: "Storage", targets: ["Storage"]),
        .library(name: "KafkaWire", targets: ["KafkaWire"]),
        .library(name: "PgWire", targets: ["PgWire"]),
        .library(name: "ClickHouseNative", targets: ["ClickHouseNative"]),
        .library(name: "S3Client", targets: ["S3Client"]),
        .library(name: "Avro", targets: ["Avro"]),
        .library(name: "Connectors", targets: ["Connectors"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-collections.git", from: "1.6.0"),
    ],
    targets: [
        // C libraries from the system: only zlib and OpenSSL.
        .systemLibrary(name: "CZlib", path: "Sources/CZlib", pkgConfig: "zlib",
                       providers: [.apt(["zlib1g-dev"])]),
        .systemLibrary(name: "COpenSSL", path: "Sources/COpenSSL", pkgConfig: "openssl",
                       providers: [.apt(["libssl-dev"])]),

        // Shared wire primitives: varints, CRC-32/CRC-32C, base64, JSON writing, byte helpers.
        .target(name: "WireCore", dependencies: [.product(name: "NIOCore", package: "swift-nio")],
                swiftSettings: swiftSettings),
        // Compression: gzip (zlib), Snappy, LZ4, Zstandard in Swift.
        .target(name: "Codecs", dependencies: ["CZlib", "WireCore"], exclude: ["DESIGN.md"],
                swiftSettings: swiftSettings),
        // Hashes/HMAC/PBKDF2 (libcrypto), SCRAM, AWS SigV4: shared by Kafka, PostgreSQL and S3.
        .target(name: "PipeAuth", dependencies: ["COpenSSL", "WireCore"], swiftSettings: swiftSettings),
        // Client TLS over OpenSSL as a NIO channel handler.
        .target(name: "PipeTLS", dependencies: ["COpenSSL", log] + nio, exclude: ["DESIGN.md"], swiftSettings: swiftSettings),
        // Minimal HTTP/1.1 (request/response parsers, server for /metrics, client for S3).
        .target(name: "HTTPWire", dependencies: ["WireCore", "PipeTLS", log] + nio, exclude: ["DESIGN.md"],
                swiftSettings: swiftSettings),
        // YAML reader and the typed configuration of every connector class.
        .target(name: "PipeConfig", dependencies: ["WireCore"], exclude: ["REFERENCE.md"], swiftSettings: swiftSettings),
        // Logging, Prometheus metrics, HTTP endpoints, progress reporting, backoff.
        .target(name: "PipeRuntime",
                dependencies: ["HTTPWire", "PipeConfig", log, metrics,
                               .product(name: "ServiceLifecycle", package: "swift-service-lifecycle")] + nio,
                swiftSettings: swiftSettings),
        // Embedded append-only key-value state store.
        .target(name: "Storage", dependencies: ["WireCore"], exclude: ["DESIGN.md"], swiftSettings: swiftSettings),

        .target(name: "KafkaWire",
                dependencies: ["CZlib", "WireCore", "Codecs", "PipeAuth", "PipeTLS", log, metrics,
                               .product(name: "ServiceLifecycle", package: "swift-service-lifecycle")] + nio,
                exclude: ["DESIGN.md"], swiftSettings: swiftSettings),
        .target(name: "PgWire", dependencies: ["WireCore", "PipeAuth", "PipeTLS", log] + nio,
                exclude: ["DESIGN.md"], swiftSettings: swiftSettings),
        .target(name: "ClickHouseNative", dependencies: ["WireCore", "Codecs", "PipeTLS", log] + nio,
                exclude: ["DESIGN.md"], swiftSettings: swiftSettings),
        .target(name: "S3Client", dependencies: ["WireCore", "PipeAuth", "HTTPWire", "PipeTLS", log] + nio, exclude: ["DESIGN.md"],
                swiftSettings: swiftSettings),
        .target(name: "Avro", dependencies: ["WireCore"], exclude: ["DESIGN.md"], swiftSettings: swiftSettings),
        .target(name: "Connectors",
                dependencies: ["PipeConfig", "PipeRuntime", "Storage", "KafkaWire", "PgWire",
                               "ClickHouseNative", "S3Client", "Avro", "HTTPWire", "PipeTLS", log, metrics,
                               .product(name: "ServiceLifecycle", package: "swift-service-lifecycle")] + nio,
                swiftSettings: swiftSettings),
        // The allocator setting of the CLI's process (glibc mallopt; malloc.h is not in Swift's Glibc module).
        .target(name: "CAllocatorTuning"),
        .executableTarget(name: "kafka-pipe",
                          dependencies: ["CAllocatorTuning", "Connectors", "PipeConfig", "PipeRuntime", "Storage", log,
                                         .product(name: "ServiceLifecycle", package: "swift-service-lifecycle")],
                          swiftSettings: swiftSettings),
        // Generates Sources/KafkaWire/Generated from Apache Kafka's JSON message definitions.
        .executableTarget(name: "kafka-codegen", path: "Tools/kafka-codegen", swiftSettings: swiftSettings),
        // Benchmark drivers (run by bench/*.sh).
        .executableTarget(name: "pipe-bench",
                          dependencies: ["Storage", "Codecs", "KafkaWire", "WireCore", "PgWire", "S3Client", "PipeAuth", "ClickHouseNative"],
                          path: "Tools/pipe-bench", swiftSettings: swiftSettings),

        // Helpers shared by the test targets: where the services are, running the binary.
        .target(name: "PipeTestSupport", path: "Tests/Support", swiftSettings: swiftSettings),

        .testTarget(name: "WireCoreTests", dependencies: ["PipeTestSupport", "WireCore"], swiftSettings: swiftSettings),
        .testTarget(name: "CodecsTests", dependencies: ["PipeTestSupport", "Codecs"], swiftSettings: swiftSettings),
        .testTarget(name: "PipeAuthTests", dependencies: ["PipeTestSupport", "PipeAuth", "WireCore"], swiftSettings: swiftSettings),
        .testTarget(name: "PipeTLSTests", dependencies: ["PipeTestSupport", "PipeTLS"] + nio, swiftSettings: swiftSettings),
        .testTarget(name: "HTTPWireTests", dependencies: ["PipeTestSupport", "HTTPWire"] + nio, swiftSettings: swiftSettings),
        .testTarget(name: "PipeConfigTests", dependencies: ["PipeTestSupport", "PipeConfig"], exclude: ["Examples"],
                    swiftSettings: swiftSettings),
        .testTarget(name: "PipeRuntimeTests", dependencies: ["PipeTestSupport", "PipeRuntime"] + nio, swiftSettings: swiftSettings),
        .testTarget(name: "StorageTests", dependencies: ["PipeTestSupport", "Storage"], swiftSettings: swiftSettings),
        .testTarget(name: "KafkaWireTests", dependencies: ["PipeTestSupport", "KafkaWire",
                                                      .product(name: "NIOEmbedded", package: "swift-nio")] + nio, exclude: ["Fixtures"],
                    swiftSettings: swiftSettings),
        .testTarget(name: "PgWireTests", dependencies: ["PipeTestSupport", "PgWire", "PipeAuth"] + nio, exclude: ["Fixtures"],
                    swiftSettings: swiftSettings),
        .testTarget(name: "ClickHouseNativeTests", dependencies: ["PipeTestSupport", "ClickHouseNative", "PipeTLS"] + nio,
                    exclude: ["Fixtures"], swiftSettings: swiftSettings),
        .testTarget(name: "S3ClientTests", dependencies: ["PipeTestSupport", "S3Client", "PipeAuth", "HTTPWire", "PipeTLS"] + nio, swiftSettings: swiftSettings),
        .testTarget(name: "AvroTests", dependencies: ["PipeTestSupport", "Avro"], swiftSettings: swiftSettings),
        .testTarget(name: "ConnectorsTests", dependencies: ["PipeTestSupport", "Connectors", "ClickHouseNative", "PipeConfig", "WireCore", "Avro", "PipeRuntime", "Storage", log, metrics] + nio, swiftSettings: swiftSettings),
        // Runs the built kafka-pipe binary as a user would.
        .testTarget(name: "CLITests", dependencies: ["PipeTestSupport", "PipeConfig", "Storage"], swiftSettings: swiftSettings),
    ],
    swiftLanguageModes: [.v6]
)

// swift-tools-version:6.1
// libFuzzer targets for every decoder of untrusted bytes. Build with scripts/fuzz.sh.
import PackageDescription

let settings: [SwiftSetting] = [.unsafeFlags(["-parse-as-library"])]

func fuzzTarget(_ name: String, _ deps: [String]) -> Target {
    .executableTarget(
        name: name,
        dependencies: ["FuzzSupport"] + deps.map { .product(name: $0, package: "kafka-pipe") },
        swiftSettings: settings)
}

let package = Package(
    name: "kafka-pipe-fuzz",
    platforms: [.macOS(.v15)],
    dependencies: [.package(name: "kafka-pipe", path: "..")],
    targets: [
        .target(name: "FuzzSupport"),
        fuzzTarget("FuzzYAML", ["PipeConfig"]),
        fuzzTarget("FuzzPgBackend", ["PgWire"]),
        fuzzTarget("FuzzPgOutput", ["PgWire"]),
        fuzzTarget("FuzzJSON", ["WireCore"]),
        fuzzTarget("FuzzHTTPRequest", ["HTTPWire"]),
        fuzzTarget("FuzzHTTPResponse", ["HTTPWire"]),
        fuzzTarget("FuzzKafkaResponses", ["KafkaWire"]),
        fuzzTarget("FuzzRecordBatch", ["KafkaWire"]),
        fuzzTarget("FuzzConsumerProtocol", ["KafkaWire"]),
        fuzzTarget("FuzzStateLog", ["Storage"]),
        fuzzTarget("FuzzSnappy", ["Codecs"]),
        fuzzTarget("FuzzLZ4", ["Codecs"]),
        fuzzTarget("FuzzZstd", ["Codecs"]),
        fuzzTarget("FuzzGzip", ["Codecs"]),
        fuzzTarget("FuzzBase64", ["WireCore"]),
        fuzzTarget("FuzzSCRAM", ["PipeAuth"]),
        fuzzTarget("FuzzClickHouseBlock", ["ClickHouseNative"]),
        fuzzTarget("FuzzClickHouseNativeFormat", ["ClickHouseNative"]),
        fuzzTarget("FuzzXML", ["S3Client"]),
        fuzzTarget("FuzzS3Lines", ["Connectors"]),
        fuzzTarget("FuzzAvro", ["Avro"]),
    ],
    swiftLanguageModes: [.v6]
)

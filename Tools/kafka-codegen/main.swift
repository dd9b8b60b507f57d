// kafka-codegen DEFS OUT [TESTS_OUT]
//
// Reads Apache Kafka's JSON message definitions from DEFS and writes one Swift file per API of
// the allow-list into OUT (plus the request/response headers, the consumer-protocol data
// structures and the api table). With TESTS_OUT it also writes `sample(version:)` builders that
// the round-trip tests use.
import FoundationEssentials

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The APIs kafka-pipe uses, in api-key order of importance; each becomes `<Name>.swift`.
let allowList = [
    "Produce", "Fetch", "ListOffsets", "Metadata", "OffsetCommit", "OffsetFetch", "FindCoordinator",
    "JoinGroup", "Heartbeat", "LeaveGroup", "SyncGroup", "DescribeGroups", "ListGroups", "SaslHandshake",
    "ApiVersions", "CreateTopics", "DeleteTopics", "InitProducerId", "AddPartitionsToTxn",
    "AddOffsetsToTxn", "EndTxn", "TxnOffsetCommit", "DescribeConfigs", "SaslAuthenticate",
    "CreatePartitions", "DescribeCluster",
]
/// `data` definitions that travel inside other messages (JoinGroup/SyncGroup metadata).
let dataList = ["ConsumerProtocolSubscription", "ConsumerProtocolAssignment"]

func fail(_ message: String) -> Never {
    let line = "kafka-codegen: \(message)\n"
    _ = line.withCString { write(2, $0, strlen($0)) }
    exit(1)
}

func load(_ defs: String, _ name: String) throws -> MessageSpec {
    let url = URL(fileURLWithPath: defs).appendingPathComponent("\(name).json")
    let data = try Data(contentsOf: url)
    let text = stripComments(String(decoding: data, as: UTF8.self))
    do {
        return try JSONDecoder().decode(MessageSpec.self, from: Data(text.utf8))
    } catch {
        throw CodegenError("\(name).json: \(error)")
    }
}

func writeFile(_ text: String, to dir: String, _ file: String) throws {
    let url = URL(fileURLWithPath: dir).appendingPathComponent(file)
    try Data(text.utf8).write(to: url)
}

func run() throws {
    let args = Array(CommandLine.arguments.dropFirst())
    guard args.count == 2 || args.count == 3 else {
        fail("usage: kafka-codegen DEFS OUT [TESTS_OUT]")
    }
    let defs = args[0], out = args[1]
    let testsOut = args.count == 3 ? args[2] : nil
    try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
    if let testsOut { try FileManager.default.createDirectory(atPath: testsOut, withIntermediateDirectories: true) }

    var samples = Writer()
    samples.text = header + "import KafkaWire\nimport NIOCore\n\n"
    var sampleCounter = 0
    var sampleCases: [(name: String, low: Int, high: Int)] = []

    struct APIRow { var name: String; var key: Int; var low: Int; var high: Int; var flex: Int?; var unstable: Bool }
    var rows: [APIRow] = []

    for api in allowList {
        var w = Writer()
        w.text = header + "public import NIOCore\n\n"
        let request = try Message(try load(defs, api + "Request"), swiftName: api + "Request")
        let response = try Message(try load(defs, api + "Response"), swiftName: api + "Response")
        guard let key = request.spec.apiKey, key == response.spec.apiKey else { fail("\(api): api keys differ") }
        MessageEmitter(message: request).emit(into: &w, kind: "request")
        w.line()
        MessageEmitter(message: response).emit(into: &w, kind: "response")
        try writeFile(w.text, to: out, "\(api).swift")
        rows.append(APIRow(name: api, key: key, low: request.valid.lowerBound, high: request.valid.upperBound,
                           flex: request.firstFlexible, unstable: request.spec.latestVersionUnstable ?? false))
        for m in [request, response] {
            MessageEmitter(message: m).emitSamples(into: &samples, k: &sampleCounter)
            sampleCases.append((m.swiftName, m.valid.lowerBound, m.valid.upperBound))
        }
    }

    // Headers and data structures.
    var hw = Writer()
    hw.text = header + "public import NIOCore\n\n"
    for (file, swiftName) in [("RequestHeader", "KafkaRequestHeader"), ("ResponseHeader", "KafkaResponseHeader")] {
        let m = try Message(try load(defs, file), swiftName: swiftName)
        MessageEmitter(message: m).emit(into: &hw, kind: "header")
        hw.line()
        MessageEmitter(message: m).emitSamples(into: &samples, k: &sampleCounter)
        sampleCases.append((swiftName, m.valid.lowerBound, m.valid.upperBound))
    }
    try writeFile(String(hw.text.dropLast()), to: out, "Headers.swift")
    for name in dataList {
        var w = Writer()
        w.text = header + "public import NIOCore\n\n"
        let m = try Message(try load(defs, name), swiftName: name)
        MessageEmitter(message: m).emit(into: &w, kind: "data")
        try writeFile(w.text, to: out, "\(name).swift")
        MessageEmitter(message: m).emitSamples(into: &samples, k: &sampleCounter)
        sampleCases.append((name, m.valid.lowerBound, m.valid.upperBound))
    }

    // The api table and decoding by key.
    rows.sort { $0.key < $1.key }
    var t = Writer()
    t.text = header + "public import NIOCore\n\n"
    t.line("/// The APIs this module has codecs for, by api key.")
    t.block("public enum KafkaAPIKey") { w in
        for r in rows { w.line("public static let \(swiftProperty(r.name)): Int16 = \(r.key)") }
    }
    t.line()
    t.line("/// What each API defines: its versions and the first flexible version.")
    t.block("public struct KafkaAPIInfo: Sendable, Hashable") { w in
        w.line("public var name: String")
        w.line("public var apiKey: Int16")
        w.line("public var minVersion: Int16")
        w.line("public var maxVersion: Int16")
        w.line("/// The first version with compact encodings and tagged fields, or nil.")
        w.line("public var firstFlexibleVersion: Int16?")
        w.line("/// Whether `maxVersion` is still marked unstable upstream (a client should not pick it).")
        w.line("public var latestVersionUnstable: Bool")
        w.line()
        w.line("/// Every API of the allow-list, in api-key order.")
        w.line("public static let all: [KafkaAPIInfo] = [")
        w.indent += 1
        for r in rows {
            w.line("KafkaAPIInfo(name: \"\(r.name)\", apiKey: \(r.key), minVersion: \(r.low), maxVersion: \(r.high), "
                   + "firstFlexibleVersion: \(r.flex.map(String.init) ?? "nil"), latestVersionUnstable: \(r.unstable)),")
        }
        w.indent -= 1
        w.line("]")
        w.line()
        w.block("public static func forKey(_ key: Int16) -> KafkaAPIInfo?") { w in
            w.block("switch key") { w in
                for (i, r) in rows.enumerated() { w.line("case \(r.key): all[\(i)]") }
                w.line("default: nil")
            }
        }
    }
    t.line()
    t.block("public enum KafkaMessages") { w in
        for (kind, suffix) in [("request", "Request"), ("response", "Response")] {
            w.line("/// Decodes a \(kind) body of `apiKey` at `version`.")
            w.block("public static func decode\(suffix)(apiKey: Int16, version: Int16, from buffer: inout ByteBuffer) throws -> any Kafka\(suffix)") { w in
                w.block("switch apiKey") { w in
                    for r in rows { w.line("case \(r.key): try \(r.name)\(suffix)(from: &buffer, version: version)") }
                    w.line("default: throw KafkaWireError(.unknownAPI, \"api key \\(apiKey)\")")
                }
            }
            if suffix == "Request" { w.line() }
        }
    }
    try writeFile(t.text, to: out, "KafkaAPIs.swift")

    if let testsOut {
        samples.line("/// Every generated message with its versions, for the round-trip tests.")
        samples.line("let generatedSampleCases: [SampleCase] = [")
        samples.indent += 1
        for c in sampleCases {
            samples.line("SampleCase(\"\(c.name)\", \(c.low)...\(c.high)) { try roundTrip(\(c.name).self, \(c.name).sample(version: $0), version: $0) },")
        }
        samples.indent -= 1
        samples.line("]")
        try writeFile(samples.text, to: testsOut, "GeneratedSamples.swift")
    }
}

do {
    try run()
} catch {
    fail("\(error)")
}

import Foundation
import KafkaWire
import NIOCore
import Testing

/// Response frames captured from real brokers by Fixtures/capture.py (tansu and librdkafka's
/// mock cluster), one hex line per file; Fixtures/manifest.txt names the api key and version.
struct Fixture: Sendable, CustomStringConvertible {
    let file: String
    let apiKey: Int16
    let version: Int16
    let bytes: [UInt8]
    var isRequest = false

    var description: String { file }

    static let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures")

    /// Every fixture of the manifest: responses from brokers, and requests from kcat.
    static let everything: [Fixture] = {
        guard let manifest = try? String(contentsOf: directory.appendingPathComponent("manifest.txt"), encoding: .utf8) else {
            return []
        }
        return manifest.split(separator: "\n").compactMap { line in
            let parts = line.split(separator: " ")
            guard parts.count >= 3, let key = Int16(parts[1]), let version = Int16(parts[2]) else { return nil }
            var f = load(String(parts[0]), apiKey: key, version: version)
            f?.isRequest = parts.count > 3 && parts[3] == "request"
            return f
        }
    }()

    /// The response frames.
    static let all = everything.filter { !$0.isRequest }
    /// The request frames kcat sent (through a recording proxy).
    static let requests = everything.filter(\.isRequest)

    static func load(_ file: String, apiKey: Int16, version: Int16) -> Fixture? {
        guard let hex = try? String(contentsOf: directory.appendingPathComponent(file), encoding: .utf8) else { return nil }
        let digits = Array(hex.trimmingCharacters(in: .whitespacesAndNewlines).utf8)
        var bytes: [UInt8] = []
        bytes.reserveCapacity(digits.count / 2)
        var i = 0
        while i + 1 < digits.count {
            guard let b = UInt8(String(decoding: digits[i...i + 1], as: UTF8.self), radix: 16) else { return nil }
            bytes.append(b)
            i += 2
        }
        return Fixture(file: file, apiKey: apiKey, version: version, bytes: bytes)
    }

    static func named(_ file: String) throws -> Fixture {
        try #require(all.first { $0.file == file }, "fixture \(file) missing")
    }

    /// Peer quirks: the bytes a fixture has after its body, and the fixtures whose bytes our
    /// encoder does not reproduce exactly (the value is the same; only the spelling differs).
    static let trailingBytes = ["rdkafka-mock_Metadata_v12.hex": 1]
    static let spelledDifferently: Set<String> = [
        // tansu writes tagged fields even when they hold their default (empty features, epoch
        // -1, TopicConfigErrorCode 0); Kafka's encoders, and ours, leave those out.
        "tansu_ApiVersions_v3.hex", "tansu_CreateTopics_v5.hex",
        "rdkafka-mock_Metadata_v12.hex",
    ]

    /// Decodes the header and body; checks what is left over.
    func decode() throws -> (header: KafkaResponseHeader, body: any KafkaResponse) {
        var buffer = ByteBuffer(bytes: bytes)
        let header = try KafkaFrame.decodeResponseHeader(apiKey: apiKey, apiVersion: version, from: &buffer)
        let body = try KafkaMessages.decodeResponse(apiKey: apiKey, version: version, from: &buffer)
        #expect(buffer.readableBytes == Self.trailingBytes[file, default: 0], "\(file): \(buffer.readableBytes) bytes left")
        return (header, body)
    }

    func decode<R: KafkaResponse>(as type: R.Type) throws -> R {
        try #require(try decode().body as? R)
    }
}

/// Re-encodes a decoded response through the concrete type behind the existential.
private func reencode(_ header: KafkaResponseHeader, _ body: any KafkaResponse, apiKey: Int16, version: Int16) throws -> [UInt8] {
    var buffer = ByteBuffer()
    try header.encode(into: &buffer, version: KafkaResponseHeader.version(apiKey: apiKey, apiVersion: version))
    try body.encode(into: &buffer, version: version)
    return Array(buffer.readableBytesView)
}

@Suite struct CapturedResponseTests {
    @Test func fixturesArePresent() {
        #expect(Fixture.all.count >= 25)
        #expect(Fixture.all.contains { $0.file.hasPrefix("tansu_") })
        #expect(Fixture.all.contains { $0.file.hasPrefix("rdkafka-mock_") })
    }

    @Test(arguments: Fixture.all)
    func decodesAndReencodesByteForByte(_ fixture: Fixture) throws {
        let (header, body) = try fixture.decode()
        #expect(header.correlationId > 100)
        let again = try reencode(header, body, apiKey: fixture.apiKey, version: fixture.version)
        if Fixture.spelledDifferently.contains(fixture.file) {
            // Same value: decoding our bytes gives back what decoding the peer's gave.
            let copy = Fixture(file: fixture.file + " (re-encoded)", apiKey: fixture.apiKey, version: fixture.version, bytes: again)
            var buffer = ByteBuffer(bytes: copy.bytes)
            _ = try KafkaFrame.decodeResponseHeader(apiKey: fixture.apiKey, apiVersion: fixture.version, from: &buffer)
            let body2 = try KafkaMessages.decodeResponse(apiKey: fixture.apiKey, version: fixture.version, from: &buffer)
            #expect(buffer.readableBytes == 0)
            #expect(try reencode(header, body2, apiKey: fixture.apiKey, version: fixture.version) == again)
            #expect(again.count < fixture.bytes.count)
        } else {
            #expect(again == fixture.bytes, "\(fixture.file) re-encodes differently")
        }
    }

    /// Requests a real client (kcat, librdkafka 2.16) sent: header v2 with the client id as a
    /// classic string, compact bodies; they decode and re-encode byte for byte.
    @Test func requestsFromKcat() throws {
        #expect(Fixture.requests.count >= 2)
        for fixture in Fixture.requests {
            var buffer = ByteBuffer(bytes: fixture.bytes)
            let header = try KafkaRequestHeader(from: &buffer, version: 2)
            #expect(header.requestApiKey == fixture.apiKey && header.requestApiVersion == fixture.version)
            #expect(header.clientId == "rdkafka")
            let body = try KafkaMessages.decodeRequest(apiKey: fixture.apiKey, version: fixture.version, from: &buffer)
            // librdkafka's second Metadata v12 request (all topics) carries 3 bytes more than
            // v12 defines ([1, 0, 0] after what we read); tansu ignores them, so do we.
            let extra = fixture.file == "kcat_request_2_Metadata_v12.hex" ? 3 : 0
            #expect(buffer.readableBytes == extra, "\(fixture.file)")
            var again = ByteBuffer()
            try header.encode(into: &again, version: 2)
            try body.encode(into: &again, version: fixture.version)
            #expect(Array(again.readableBytesView) == Array(fixture.bytes.dropLast(extra)), "\(fixture.file)")
            if let versions = body as? ApiVersionsRequest {
                #expect(versions.clientSoftwareName == "librdkafka")
                #expect(versions.clientSoftwareVersion.hasPrefix("2."))
            }
        }
    }

    @Test func apiVersionsFromTansuCarryTaggedFeatures() throws {
        let fixture = try Fixture.named("tansu_ApiVersions_v3.hex")
        let r = try fixture.decode(as: ApiVersionsResponse.self)
        #expect(r.errorCode == 0)
        let fetch = try #require(r.apiKeys.first { $0.apiKey == KafkaAPIKey.fetch })
        #expect(fetch.minVersion == 0 && fetch.maxVersion == 17)
        #expect(r.apiKeys.contains { $0.apiKey == KafkaAPIKey.produce })
        // tansu sends all four top-level tagged fields (tags 0-3), each at its default value;
        // they decode as known fields, so none is left unknown.
        #expect(Array(fixture.bytes.suffix(20)) == [4, 0, 1, 1, 1, 8, 255, 255, 255, 255, 255, 255, 255, 255, 2, 1, 1, 3, 1, 0])
        #expect(r.unknownTaggedFields.isEmpty)
        #expect(r.finalizedFeaturesEpoch == -1 && r.supportedFeatures.isEmpty && !r.zkMigrationReady)
        let classic = try Fixture.named("tansu_ApiVersions_v0.hex").decode(as: ApiVersionsResponse.self)
        #expect(classic.apiKeys.count == r.apiKeys.count)
    }

    @Test func apiVersionsFromTheMockCluster() throws {
        let r = try Fixture.named("rdkafka-mock_ApiVersions_v2.hex").decode(as: ApiVersionsResponse.self)
        #expect(r.errorCode == 0)
        #expect(r.apiKeys.first { $0.apiKey == KafkaAPIKey.apiVersions }?.maxVersion == 2)
    }

    @Test func metadataNamesTheTopicAndItsLeader() throws {
        for file in ["tansu_Metadata_v1.hex", "tansu_Metadata_v12.hex", "rdkafka-mock_Metadata_v1.hex", "rdkafka-mock_Metadata_v12.hex"] {
            let r = try Fixture.named(file).decode(as: MetadataResponse.self)
            let topic = try #require(r.topics.first { $0.name == "kp-fixture" }, "\(file)")
            #expect(topic.errorCode == 0, "\(file)")
            let p0 = try #require(topic.partitions.first { $0.partitionIndex == 0 })
            #expect(r.brokers.contains { $0.nodeId == p0.leaderId }, "\(file): leader among brokers")
        }
        let mock = try Fixture.named("rdkafka-mock_Metadata_v12.hex").decode(as: MetadataResponse.self)
        #expect(mock.brokers.count == 3)
        #expect(mock.topics.first?.topicId != KafkaUUID.zero)
    }

    @Test func produceAndListOffsetsAndCoordinator() throws {
        for file in ["tansu_Produce_v3.hex", "tansu_Produce_v9.hex", "rdkafka-mock_Produce_v3.hex", "rdkafka-mock_Produce_v9.hex"] {
            let r = try Fixture.named(file).decode(as: ProduceResponse.self)
            let p = try #require(r.responses.first?.partitionResponses.first, "\(file)")
            #expect(p.errorCode == 0 && p.baseOffset >= 0, "\(file)")
        }
        for file in ["tansu_ListOffsets_v1.hex", "tansu_ListOffsets_v6.hex", "rdkafka-mock_ListOffsets_v6.hex"] {
            let r = try Fixture.named(file).decode(as: ListOffsetsResponse.self)
            let p = try #require(r.topics.first?.partitions.first, "\(file)")
            #expect(p.errorCode == 0 && p.offset > 0, "\(file)")
        }
        let v3 = try Fixture.named("tansu_FindCoordinator_v3.hex").decode(as: FindCoordinatorResponse.self)
        #expect(v3.errorCode == 0 && v3.port > 0)
        let v4 = try Fixture.named("tansu_FindCoordinator_v4.hex").decode(as: FindCoordinatorResponse.self)
        #expect(v4.coordinators.first?.key == "kp-capture-group")
        #expect(v4.coordinators.first?.errorCode == 0)
    }

    @Test func createTopicsFromTansu() throws {
        for file in ["tansu_CreateTopics_v2.hex", "tansu_CreateTopics_v5.hex"] {
            let r = try Fixture.named(file).decode(as: CreateTopicsResponse.self)
            let t = try #require(r.topics.first, "\(file)")
            #expect(t.name.hasPrefix("kp-fixture-ct"), "\(file)")
            #expect(t.errorCode == 0, "\(file)")
        }
    }

    /// The records kcat produced: three plain ones with headers (one without a key), then ten
    /// in one gzip batch.
    @Test(arguments: ["tansu_Fetch_v4.hex", "tansu_Fetch_v11.hex", "tansu_Fetch_v12.hex"])
    func fetchedBatchesFromKcatDecode(_ file: String) throws {
        let r = try Fixture.named(file).decode(as: FetchResponse.self)
        let p = try #require(r.responses.first?.partitions.first)
        #expect(p.errorCode == 0)
        let batches = try RecordBatch.decodeAll(try #require(p.records))
        let records = batches.flatMap(\.records)
        #expect(records.count >= 13)
        #expect(records.map(\.offset) == Array(0..<Int64(records.count)))
        #expect(records[0].key == ByteBuffer(string: "k1"))
        #expect(records[0].value == ByteBuffer(string: "v1"))
        #expect(records[1].value == ByteBuffer(string: "value two"))
        #expect(records[2].key == nil || records[2].key == ByteBuffer())
        #expect(records[2].value == ByteBuffer(string: "no key"))
        #expect(records[0].headers == [KafkaRecordHeader(key: "lsn", value: ByteBuffer(string: "0/1A2B3C8")),
                                       KafkaRecordHeader(key: "op", value: ByteBuffer(string: "c"))])
        let gzip = try #require(batches.first { $0.attributes.compression == .gzip })
        #expect(gzip.records.count == 10)
        #expect(gzip.records.last?.value == ByteBuffer(string: String(repeating: "x", count: 10)))
        #expect(gzip.records[0].headers.first?.key == "relation")
    }

    /// The mock cluster's partition walked batch by batch: kcat's batches, a committed and an
    /// aborted transaction with their control batches, and two batches from Produce.
    @Test func mockClusterBatchesIncludingTransactionMarkers() throws {
        let files = Fixture.all.filter { $0.file.hasPrefix("rdkafka-mock_Fetch_v4_at") }
        #expect(files.count >= 6)
        var batches: [RecordBatch] = []
        for f in files {
            let r = try f.decode(as: FetchResponse.self)
            let p = try #require(r.responses.first?.partitions.first)
            #expect(p.errorCode == 0)
            let records = try #require(p.records)
            // The mock cluster writes its control batches with a zero CRC (real brokers never
            // do); every other batch must pass the check.
            let unchecked = try RecordBatch.decodeAll(records, options: .init(verifyCRC: false))
            if unchecked.allSatisfy({ !$0.attributes.isControl }) {
                #expect(try RecordBatch.decodeAll(records) == unchecked, "\(f.file)")
            } else {
                #expect(throws: KafkaWireError.self) { _ = try RecordBatch.decodeAll(records) }
            }
            batches += unchecked
        }
        let markers = batches.compactMap(\.controlRecord)
        #expect(markers.map(\.kind) == [.commit, .abort])
        let transactional = batches.filter { $0.attributes.isTransactional && !$0.attributes.isControl }
        #expect(transactional.count == 2)
        #expect(transactional.allSatisfy { $0.producerId >= 0 && $0.baseSequence >= 0 })
        #expect(transactional.map { $0.records.first?.value } == [ByteBuffer(string: "committed"), ByteBuffer(string: "aborted")])
        #expect(batches.contains { $0.attributes.compression == .gzip && $0.records.count == 10 })
    }
}

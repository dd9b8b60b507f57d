import Foundation
import KafkaWire
import NIOCore
import PipeTestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// A blocking TCP connection for the integration tests: frames encoded by KafkaWire go out,
/// frames from the broker come back and are decoded by KafkaWire.
final class BlockingKafkaConnection {
    private let fd: Int32
    private var correlationId: Int32 = 0

    init(_ address: String) throws {
        let parts = address.split(separator: ":")
        guard parts.count == 2, let port = UInt16(parts[1]) else { throw ConnectionError("bad address \(address)") }
        let host = parts[0] == "localhost" ? "127.0.0.1" : String(parts[0])
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = port.bigEndian
        inet_pton(AF_INET, host, &addr.sin_addr)
        var timeout = timeval(tv_sec: 10, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        let rc = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard rc == 0 else {
            close(fd)
            throw ConnectionError("connect to \(address) failed")
        }
    }

    deinit { close(fd) }

    struct ConnectionError: Error, CustomStringConvertible {
        var description: String
        init(_ d: String) { description = d }
    }

    func send<R: KafkaRequest>(_ request: R, version: Int16) throws -> R.Response {
        correlationId += 1
        var out = ByteBuffer()
        try KafkaFrame.encodeRequest(request, version: version, correlationId: correlationId, clientId: "kp-tests", into: &out)
        let bytes = Array(out.readableBytesView)
        var sent = 0
        while sent < bytes.count {
            let n = bytes[sent...].withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, 0) }
            guard n > 0 else { throw ConnectionError("send failed") }
            sent += n
        }
        let sizeBytes = try receive(4)
        let size = Int(Int32(bigEndian: sizeBytes.withUnsafeBytes { $0.loadUnaligned(as: Int32.self) }))
        var frame = ByteBuffer(bytes: try receive(size))
        let (cid, response) = try KafkaFrame.decodeResponse(to: R.self, version: version, from: &frame)
        guard cid == correlationId else { throw ConnectionError("correlation id \(cid), expected \(correlationId)") }
        return response
    }

    private func receive(_ count: Int) throws -> [UInt8] {
        var buffer = [UInt8](repeating: 0, count: count)
        var got = 0
        while got < count {
            let n = buffer[got...].withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            guard n > 0 else { throw ConnectionError("connection closed after \(got) of \(count) bytes") }
            got += n
        }
        return buffer
    }
}

/// Requests encoded by KafkaWire against tansu: the broker accepts them, and what we produce
/// reads back through our Fetch decoding and through kcat.
@Suite(.serialized) struct LiveBrokerTests {
    static var broker: String? {
        TestEnv.require("KP_KAFKA") { Issue.record(Comment(rawValue: $0)) }?
            .split(separator: ",").first.map(String.init)
    }

    static func records(base: Int64) -> [KafkaRecord] {
        (0..<4).map { i in
            KafkaRecord(offset: base + Int64(i), timestamp: 1_700_000_000_000 + Int64(i),
                        key: i == 1 ? nil : ByteBuffer(string: "{\"id\":\(base + Int64(i))}"),
                        value: ByteBuffer(string: "{\"n\":\(i)}"),
                        headers: [KafkaRecordHeader(key: "lsn", value: ByteBuffer(string: "0/\(i)")),
                                  KafkaRecordHeader(key: "op", value: ByteBuffer(string: "c"))])
        }
    }

    @Test func produceAndFetchThroughTansu() throws {
        guard let broker = Self.broker else { return }
        let connection = try BlockingKafkaConnection(broker)

        let versions = try connection.send(ApiVersionsRequest(clientSoftwareName: "kp-tests", clientSoftwareVersion: "0"), version: 3)
        #expect(versions.errorCode == 0)
        #expect(versions.apiKeys.contains { $0.apiKey == KafkaAPIKey.produce && $0.maxVersion >= 9 })

        let topic = TestEnv.unique("kp_wire")
        let created = try connection.send(CreateTopicsRequest(
            topics: [.init(name: topic, numPartitions: 1, replicationFactor: 1,
                           configs: [.init(name: "cleanup.policy", value: "delete")])],
            timeoutMs: 5000), version: 7)
        #expect(created.topics.first?.errorCode == 0)
        #expect(created.topics.first?.name == topic)

        // Two batches: one plain, one gzip (our encoder, our CRC-32C, our deflate).
        let gzip = RecordBatch(records: Self.records(base: 4), attributes: .init(compression: .gzip))
        for (i, batch) in [RecordBatch(records: Self.records(base: 0)), gzip].enumerated() {
            var one = ByteBuffer()
            try batch.encode(into: &one)
            let produced = try connection.send(ProduceRequest(
                acks: -1, timeoutMs: 5000,
                topicData: [.init(name: topic, partitionData: [.init(index: 0, records: one)])]), version: 9)
            let p = try #require(produced.responses.first?.partitionResponses.first)
            #expect(p.errorCode == 0, "batch \(i): \(KafkaErrorCode(p.errorCode))")
            #expect(p.baseOffset == Int64(i * 4))
        }

        let metadata = try connection.send(MetadataRequest(topics: [.init(name: topic)]), version: 12)
        let described = try #require(metadata.topics.first)
        #expect(described.name == topic)
        #expect(described.partitions.count == 1)

        let fetched = try connection.send(FetchRequest(
            maxWaitMs: 100, minBytes: 1, maxBytes: 1 << 20,
            topics: [.init(topic: topic, partitions: [.init(partition: 0, fetchOffset: 0, partitionMaxBytes: 1 << 20)])]),
            version: 12)
        let partition = try #require(fetched.responses.first?.partitions.first)
        #expect(partition.errorCode == 0)
        let decoded = try RecordBatch.decodeAll(try #require(partition.records))
        #expect(decoded.map(\.attributes.compression) == [KafkaCompressionCodec.none, .gzip])
        #expect(decoded.flatMap(\.records) == Self.records(base: 0) + Self.records(base: 4))

        // A real client reads what we wrote.
        let kcat = TestEnv.value("KP_KCAT") ?? "/work/shared/services/kcat-modern"
        guard FileManager.default.isExecutableFile(atPath: kcat) else {
            print("skipping the kcat check: no kcat at \(kcat)")
            return
        }
        let result = try Run.program(kcat, ["-C", "-b", broker, "-t", topic, "-o", "beginning", "-e", "-q",
                                            "-f", "%o|%k|%s|%h\n"], timeout: 60)
        let lines = result.stdout.split(separator: "\n").map(String.init)
        #expect(lines.count == 8, "kcat: \(result.stderr)")
        #expect(lines.first == "0|{\"id\":0}|{\"n\":0}|lsn=0/0,op=c")
        #expect(lines.last == "7|{\"id\":7}|{\"n\":3}|lsn=0/3,op=c")
    }
}

import KafkaWire
import NIOCore
import Testing

/// One generated message type with the versions it defines; `check` round-trips its sample.
struct SampleCase: Sendable, CustomStringConvertible {
    let name: String
    let versions: ClosedRange<Int16>
    let check: @Sendable (Int16) throws -> Void

    init(_ name: String, _ versions: ClosedRange<Int16>, _ check: @escaping @Sendable (Int16) throws -> Void) {
        self.name = name
        self.versions = versions
        self.check = check
    }

    var description: String { name }
}

/// Encodes `sample` at `version`, decodes it back and compares; also checks the bytes re-encode
/// identically, that every strict prefix fails to decode with a KafkaWireError, and that the
/// default instance survives the same trip (or is refused for a null the version cannot carry).
func roundTrip<M: KafkaMessage>(_ type: M.Type, _ sample: M, version: Int16) throws {
    var buffer = ByteBuffer()
    try sample.encode(into: &buffer, version: version)
    let bytes = Array(buffer.readableBytesView)
    let decoded = try M(from: &buffer, version: version)
    #expect(buffer.readableBytes == 0, "\(M.self) v\(version): \(buffer.readableBytes) bytes left over")
    #expect(decoded == sample, "\(M.self) v\(version) decodes to a different value")

    var again = ByteBuffer()
    try decoded.encode(into: &again, version: version)
    #expect(Array(again.readableBytesView) == bytes, "\(M.self) v\(version) re-encodes differently")

    for cut in stride(from: 0, to: bytes.count, by: max(1, bytes.count / 64)) {
        var prefix = ByteBuffer(bytes: bytes[0..<cut])
        #expect(throws: KafkaWireError.self, "\(M.self) v\(version) prefix \(cut)/\(bytes.count)") {
            _ = try M(from: &prefix, version: version)
        }
    }

    var plain = ByteBuffer()
    do {
        try M().encode(into: &plain, version: version)
    } catch let error as KafkaWireError {
        #expect(error.code == .nullNotAllowed, "\(M.self) v\(version) default: \(error)")
        return
    }
    let plainDecoded = try M(from: &plain, version: version)
    #expect(plainDecoded == M(), "\(M.self) v\(version) default instance changes in a round trip")
}

@Suite struct GeneratedRoundTrips {
    @Test(arguments: generatedSampleCases)
    func everyVersionRoundTrips(_ c: SampleCase) throws {
        for v in c.versions {
            try c.check(v)
        }
    }

    @Test func everyAllowListedAPIHasATableRow() {
        let expected: Set<Int16> = [0, 1, 2, 3, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 22, 24, 25, 26, 28, 32, 36, 37, 60]
        #expect(Set(KafkaAPIInfo.all.map(\.apiKey)) == expected)
        #expect(KafkaAPIInfo.forKey(KafkaAPIKey.fetch)?.firstFlexibleVersion == 12)
        #expect(KafkaAPIInfo.forKey(KafkaAPIKey.saslHandshake)?.firstFlexibleVersion == nil)
        #expect(KafkaAPIInfo.forKey(99) == nil)
        for info in KafkaAPIInfo.all {
            #expect(info.minVersion <= info.maxVersion)
        }
    }

    @Test func versionsOutsideTheDefinitionAreRefused() {
        var buffer = ByteBuffer()
        #expect(throws: KafkaWireError.self) { try HeartbeatRequest().encode(into: &buffer, version: 5) }
        #expect(throws: KafkaWireError.self) { _ = try HeartbeatRequest(from: &buffer, version: -1) }
    }

    @Test func aFieldTheVersionCannotCarryIsRefusedUnlessIgnorable() throws {
        // Fetch's topic id exists from v13 only and is ignorable: silently left out before.
        var fetch = FetchRequest()
        fetch.topics = [FetchRequest.FetchTopic(topic: "t", topicId: KafkaUUID(high: 1, low: 2))]
        var buffer = ByteBuffer()
        try fetch.encode(into: &buffer, version: 12)
        // JoinGroup's group instance id (v5+) is not ignorable: an error at v4.
        var join = JoinGroupRequest()
        join.groupInstanceId = "static-member"
        #expect(throws: KafkaWireError.self) { try join.encode(into: &buffer, version: 4) }
    }

    @Test func unknownTaggedFieldsSurviveARoundTrip() throws {
        var response = FetchResponse()
        response.unknownTaggedFields = [KafkaTaggedField(tag: 7, data: [1, 2, 3]), KafkaTaggedField(tag: 90, data: [])]
        var partition = FetchResponse.PartitionData(partitionIndex: 3)
        partition.unknownTaggedFields = [KafkaTaggedField(tag: 5, data: [0xFF])]
        partition.records = ByteBuffer(bytes: [1, 2, 3])
        response.responses = [FetchResponse.FetchableTopicResponse(topicId: KafkaUUID(high: 9, low: 9), partitions: [partition])]
        var buffer = ByteBuffer()
        try response.encode(into: &buffer, version: 16)
        let decoded = try FetchResponse(from: &buffer, version: 16)
        #expect(decoded == response)
        #expect(decoded.responses.first?.partitions.first?.unknownTaggedFields == [KafkaTaggedField(tag: 5, data: [0xFF])])
    }

    @Test func knownTaggedFieldsAreWrittenOnlyWhenNotDefault() throws {
        var a = ByteBuffer(), b = ByteBuffer()
        var partition = FetchResponse.PartitionData()
        try partition.encode(into: &a, version: 12)
        partition.currentLeader = FetchResponse.LeaderIdAndEpoch(leaderId: 4, leaderEpoch: 2)
        try partition.encode(into: &b, version: 12)
        // LeaderIdAndEpoch: tag 1, size 9 (two int32 and an empty tag section), so 2 + 9 bytes more.
        #expect(b.readableBytes == a.readableBytes + 11)
        let decoded = try FetchResponse.PartitionData(from: &b, version: 12)
        #expect(decoded.currentLeader.leaderId == 4)
    }

    @Test func hugeCountsFailBeforeAllocating() {
        // A Metadata v1 response claiming 2^31-1 brokers in a few bytes.
        var buffer = ByteBuffer(bytes: [0x7F, 0xFF, 0xFF, 0xFF, 0, 0])
        #expect(throws: KafkaWireError.self) { _ = try MetadataResponse(from: &buffer, version: 1) }
        // A compact string length beyond the buffer.
        var compact = ByteBuffer(bytes: [0, 0, 0, 0, 0xFF, 0xFF, 0xFF, 0xFF, 0x0F])
        #expect(throws: KafkaWireError.self) { _ = try MetadataResponse(from: &compact, version: 12) }
        // Negative lengths other than -1.
        var negative = ByteBuffer(bytes: [0xFF, 0xFE, 0x41])
        #expect(throws: KafkaWireError.self) { _ = try SaslHandshakeRequest(from: &negative, version: 1) }
    }
}

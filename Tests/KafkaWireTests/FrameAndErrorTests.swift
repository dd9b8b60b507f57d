import KafkaWire
import NIOCore
import Testing

@Suite struct FrameTests {
    @Test func headerVersionsFollowFlexibility() {
        #expect(KafkaRequestHeader.version(for: FetchRequest.self, apiVersion: 11) == 1)
        #expect(KafkaRequestHeader.version(for: FetchRequest.self, apiVersion: 12) == 2)
        #expect(KafkaRequestHeader.version(for: SaslHandshakeRequest.self, apiVersion: 1) == 1)
        #expect(KafkaResponseHeader.version(apiKey: KafkaAPIKey.fetch, apiVersion: 12) == 1)
        #expect(KafkaResponseHeader.version(apiKey: KafkaAPIKey.fetch, apiVersion: 11) == 0)
        // ApiVersions responses always use header v0, even at flexible versions.
        #expect(KafkaResponseHeader.version(apiKey: KafkaAPIKey.apiVersions, apiVersion: 3) == 0)
    }

    @Test func requestFrameLayout() throws {
        var buffer = ByteBuffer()
        let request = ApiVersionsRequest(clientSoftwareName: "kp", clientSoftwareVersion: "1")
        try KafkaFrame.encodeRequest(request, version: 3, correlationId: 7, clientId: "cid", into: &buffer)
        // size, api key 18, version 3, correlation 7, client id as INT16 string (even in header
        // v2), empty header tags, then the compact body and its tags.
        #expect(Array(buffer.readableBytesView) == [0, 0, 0, 20, 0, 18, 0, 3, 0, 0, 0, 7, 0, 3, 0x63, 0x69, 0x64, 0,
                                                    3, 0x6B, 0x70, 2, 0x31, 0])
        let frame = try #require(try KafkaFrame.readFrame(from: &buffer))
        #expect(frame.readableBytes == 20)
        #expect(buffer.readableBytes == 0)
    }

    @Test func readFrameWaitsForWholeFramesAndBoundsTheSize() throws {
        var partial = ByteBuffer(bytes: [0, 0, 0, 5, 1, 2])
        #expect(try KafkaFrame.readFrame(from: &partial) == nil)
        #expect(partial.readableBytes == 6)
        var huge = ByteBuffer(bytes: [0x7F, 0, 0, 0])
        #expect(throws: KafkaWireError.self) { _ = try KafkaFrame.readFrame(from: &huge, maxSize: 1 << 20) }
        var negative = ByteBuffer(bytes: [0xFF, 0xFF, 0xFF, 0xFF])
        #expect(throws: KafkaWireError.self) { _ = try KafkaFrame.readFrame(from: &negative) }
    }

    @Test func decodeResponseMatchesTheRequestType() throws {
        var buffer = ByteBuffer()
        try KafkaResponseHeader(correlationId: 99).encode(into: &buffer, version: 1)
        try HeartbeatResponse(throttleTimeMs: 5, errorCode: 27).encode(into: &buffer, version: 4)
        let (correlationId, response) = try KafkaFrame.decodeResponse(to: HeartbeatRequest.self, version: 4, from: &buffer)
        #expect(correlationId == 99)
        #expect(KafkaErrorCode(response.errorCode) == .rebalanceInProgress)

        var again = ByteBuffer()
        try KafkaResponseHeader(correlationId: 100).encode(into: &again, version: 0)
        try HeartbeatResponse(errorCode: 25).encode(into: &again, version: 2)
        #expect(KafkaFrame.peekCorrelationId(again) == 100)
        let (cid, any) = try KafkaFrame.decodeResponse(apiKey: KafkaAPIKey.heartbeat, apiVersion: 2, from: &again)
        #expect(cid == 100)
        #expect((any as? HeartbeatResponse)?.errorCode == 25)
    }

    @Test func consumerProtocolRoundTrip() throws {
        let subscription = ConsumerProtocolSubscription(
            topics: ["a", "b"], userData: nil,
            ownedPartitions: [.init(topic: "a", partitions: [0, 2])], generationId: 4, rackId: "r1")
        var buffer = ByteBuffer()
        try subscription.encode(into: &buffer, version: 3)
        #expect(try ConsumerProtocolSubscription(from: &buffer, version: 3) == subscription)
    }
}

@Suite struct ErrorCodeTests {
    @Test func tableIsDenseAndMatchesItsConstants() {
        for (i, info) in KafkaErrorCode.table.enumerated() {
            #expect(Int(info.code) == i - 1)
            #expect(KafkaErrorCode(info.code).name == info.name)
            #expect(!info.description.isEmpty)
        }
        #expect(KafkaErrorCode.table.count >= 129)
    }

    @Test func wellKnownCodes() {
        #expect(KafkaErrorCode.noError.name == "NONE")
        #expect(!KafkaErrorCode.noError.isError)
        #expect(KafkaErrorCode.notLeaderOrFollower.rawValue == 6)
        #expect(KafkaErrorCode.notLeaderOrFollower.isRetriable)
        #expect(KafkaErrorCode.leaderNotAvailable.isRetriable)
        #expect(KafkaErrorCode.notCoordinator.isRetriable)
        #expect(!KafkaErrorCode.offsetOutOfRange.isRetriable)
        #expect(!KafkaErrorCode.topicAlreadyExists.isRetriable)
        #expect(!KafkaErrorCode.producerFenced.isRetriable)
        #expect(KafkaErrorCode.unknownServerError.rawValue == -1)
        #expect(KafkaErrorCode(rawValue: 36).name == "TOPIC_ALREADY_EXISTS")
        #expect(KafkaErrorCode(rawValue: 999).name == "UNKNOWN_CODE_999")
        #expect(!KafkaErrorCode(rawValue: 999).isRetriable)
        #expect(KafkaErrorCode(rawValue: -2).info == nil)
    }
}

@Suite struct UUIDTests {
    @Test func printsLikeKafka() {
        let id = KafkaUUID(high: 0x0123_4567_89AB_CDEF, low: 0x0011_2233_4455_6677)
        #expect(id.description == "01234567-89ab-cdef-0011-223344556677")
        #expect(KafkaUUID.zero.description == "00000000-0000-0000-0000-000000000000")
    }
}

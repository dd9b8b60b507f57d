@testable import KafkaWire
import NIOCore
import NIOEmbedded
import Testing

@Suite struct ClientPartitionerTests {
    /// The vectors of Kafka's own `UtilsTest.testMurmur2`.
    @Test func javaMurmur2Vectors() {
        let cases: [(String, Int32)] = [
            ("21", -973_932_308), ("foobar", -790_332_482), ("a-little-bit-long-string", -985_981_536),
            ("a-little-bit-longer-string", -1_486_304_829),
            ("lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8", -58_897_971), ("abc", 479_470_107),
        ]
        for (key, hash) in cases {
            #expect(KafkaPartitioner.murmur2(Array(key.utf8)) == hash, "\(key)")
        }
    }

    @Test func partitionIsPositiveHashModuloCount() {
        // "21" hashes to -973932308; toPositive keeps the low 31 bits.
        let positive = Int32(-973_932_308) & 0x7fff_ffff
        #expect(KafkaPartitioner.partition(forKey: Array("21".utf8), partitionCount: 7) == positive % 7)
        for n in 1...16 {
            let p = KafkaPartitioner.partition(forKey: [0xff, 0x00, 0x80], partitionCount: Int32(n))
            #expect(p >= 0 && p < n)
        }
        #expect(KafkaPartitioner.murmur2([]) == KafkaPartitioner.murmur2([UInt8]()))
    }
}

@Suite struct ClientCorrelationTests {
    @Test func responsesMatchInOrder() {
        var m = KafkaCorrelationStateMachine()
        let a = m.requestSent(apiKey: 3, apiVersion: 12, expectsResponse: true)
        let b = m.requestSent(apiKey: 0, apiVersion: 9, expectsResponse: false)  // acks=0: no response
        let c = m.requestSent(apiKey: 1, apiVersion: 12, expectsResponse: true)
        #expect([a, b, c] == [1, 2, 3])
        #expect(m.pending.map(\.correlationId) == [1, 3])
        #expect(m.responseReceived(correlationId: 1) == .deliver(correlationId: 1))
        #expect(m.isPending(3))
        #expect(m.responseReceived(correlationId: 1) == .protocolViolation(expected: 3, got: 1))
    }

    @Test func outOfOrderResponseIsAViolation() {
        var m = KafkaCorrelationStateMachine()
        _ = m.requestSent(apiKey: 3, apiVersion: 12, expectsResponse: true)
        _ = m.requestSent(apiKey: 3, apiVersion: 12, expectsResponse: true)
        #expect(m.responseReceived(correlationId: 2) == .protocolViolation(expected: 1, got: 2))
        #expect(m.responseReceived(correlationId: 9) == .protocolViolation(expected: 1, got: 9))
    }

    @Test func closeFailsEverythingPending() {
        var m = KafkaCorrelationStateMachine(firstCorrelationId: Int32.max)
        let last = m.requestSent(apiKey: 18, apiVersion: 3, expectsResponse: true)
        let wrapped = m.requestSent(apiKey: 18, apiVersion: 3, expectsResponse: true)
        #expect(last == Int32.max)
        #expect(wrapped == 1)
        #expect(m.closed().map(\.correlationId) == [Int32.max, 1])
        #expect(m.pending.isEmpty)
        #expect(m.isClosed)
    }

    /// The handler over an embedded channel: pipelined requests get their correlation ids
    /// written into the frames, responses split across reads resolve the right promises.
    @Test func handlerPipelinesAndMatches() throws {
        let channel = EmbeddedChannel(handler: KafkaChannelHandler(peer: "test:1"))
        var frames: [ByteBuffer] = []
        var promises: [EventLoopPromise<ByteBuffer>] = []
        for _ in 0..<3 {
            var frame = ByteBuffer()
            try KafkaFrame.encodeRequest(MetadataRequest(), version: 12, correlationId: 0, clientId: "t", into: &frame)
            let p = channel.eventLoop.makePromise(of: ByteBuffer.self)
            promises.append(p)
            channel.write(KafkaOutboundRequest(frame: frame, apiKey: 3, apiVersion: 12, timeout: .seconds(30), promise: p),
                          promise: nil)
        }
        channel.flush()
        frames = try outboundFrames(channel)
        #expect(frames.map { $0.getInteger(at: 8, as: Int32.self) } == [1, 2, 3])

        // Responses for 1, 2 and 3, written as one stream cut in awkward places.
        var stream = ByteBuffer()
        for id in Int32(1)...3 {
            var body = ByteBuffer()
            try KafkaResponseHeader(correlationId: id).encode(into: &body, version: 1)
            try MetadataResponse(brokers: [.init(nodeId: id, host: "h\(id)", port: 9092)]).encode(into: &body, version: 12)
            stream.writeInteger(Int32(body.readableBytes))
            stream.writeBuffer(&body)
        }
        let cuts = [3, 17, stream.readableBytes - 20]
        var from = 0
        for cut in cuts + [stream.readableBytes] {
            try channel.writeInbound(stream.getSlice(at: from, length: cut - from)!)
            from = cut
        }
        for (i, p) in promises.enumerated() {
            var frame = try p.futureResult.wait()
            let decoded = try KafkaFrame.decodeResponse(to: MetadataRequest.self, version: 12, from: &frame)
            #expect(decoded.correlationId == Int32(i + 1))
            #expect(decoded.response.brokers.first?.host == "h\(i + 1)")
        }
        _ = try? channel.finish()
    }

    @Test func handlerFailsPendingOnClose() throws {
        let channel = EmbeddedChannel(handler: KafkaChannelHandler(peer: "test:2"))
        var frame = ByteBuffer()
        try KafkaFrame.encodeRequest(MetadataRequest(), version: 12, correlationId: 0, clientId: "t", into: &frame)
        let p = channel.eventLoop.makePromise(of: ByteBuffer.self)
        channel.writeAndFlush(KafkaOutboundRequest(frame: frame, apiKey: 3, apiVersion: 12, timeout: .seconds(30), promise: p),
                              promise: nil)
        _ = try channel.close().wait()
        #expect(throws: KafkaWireError.self) { try p.futureResult.wait() }
    }

    @Test func versionNegotiationPicksHighestCommon() {
        #expect(KafkaConnection.negotiate(apiKey: KafkaAPIKey.produce, brokerMin: 0, brokerMax: 11) == 9)
        #expect(KafkaConnection.negotiate(apiKey: KafkaAPIKey.produce, brokerMin: 3, brokerMax: 7) == 7)
        #expect(KafkaConnection.negotiate(apiKey: KafkaAPIKey.fetch, brokerMin: 13, brokerMax: 17) == nil)
        #expect(KafkaConnection.negotiate(apiKey: 9999, brokerMin: 0, brokerMax: 3) == nil)
    }
}

/// Promises made by the accumulator under test; completed at the end so none leaks.
final class PromiseBag: @unchecked Sendable {
    static let loop = EmbeddedEventLoop()
    private var promises: [EventLoopPromise<Int64>] = []
    func make() -> EventLoopPromise<Int64> {
        let p = Self.loop.makePromise(of: Int64.self)
        promises.append(p)
        return p
    }
    func finish() { for p in promises { p.succeed(-1) } }
}

@Suite struct ClientAccumulatorTests {
    let bag = PromiseBag()

    static func limits(maxRecords: Int = 3, linger: TimeAmount = .milliseconds(5), maxBuffered: Int = 1 << 20,
                       idempotent: Bool = true) -> ProducerAccumulator.Limits {
        .init(batchMaxBytes: 1 << 20, batchMaxRecords: maxRecords, linger: linger, maxBufferedBytes: maxBuffered,
              maxInFlightPerBroker: 5, idempotent: idempotent, compression: .none, transactional: false,
              deliveryTimeout: .seconds(60))
    }

    func append(_ acc: inout ProducerAccumulator, partition: Int32, value: String, now: NIODeadline)
        -> ProducerAccumulator.AppendResult {
        Array(value.utf8).withUnsafeBytes { v in
            acc.append(topic: "t", partition: partition, timestamp: 1000, key: nil, value: v, headers: .none,
                       now: now, makePromise: { bag.make() })
        }
    }

    @Test func batchesBySizeAndLinger() throws {
        defer { bag.finish() }
        var acc = ProducerAccumulator(limits: Self.limits())
        acc.addTopic("t", partitionCount: 2)
        acc.producerIDAssigned(id: 7, epoch: 0)
        let t0 = NIODeadline.uptimeNanoseconds(1_000_000_000)
        for i in 0..<4 { _ = append(&acc, partition: 0, value: "v\(i)", now: t0) }
        _ = append(&acc, partition: 1, value: "x", now: t0)
        // Partition 0: one full batch of 3 goes now; its second batch and partition 1 linger.
        var d = acc.drain(now: t0) { _, p in p == 0 ? 1 : 2 }
        #expect(d.requests.map(\.broker) == [1])
        #expect(d.requests[0].batches.map(\.recordCount) == [3])
        #expect(d.nextWakeup == t0 + .milliseconds(5))
        let full = try #require(try RecordBatch.decodeAll(d.requests[0].batches[0].buffer).first)
        #expect(full.baseSequence == 0)
        #expect(full.producerId == 7)
        #expect(full.records.map(\.value) == ["v0", "v1", "v2"].map { ByteBuffer(string: $0) })
        // After the linger both remaining batches go, to their own leaders.
        d = acc.drain(now: t0 + .milliseconds(5)) { _, p in p == 0 ? 1 : 2 }
        #expect(d.requests.map(\.broker) == [1, 2])
        #expect(d.requests.flatMap(\.batches).map(\.baseSequence) == [3, 0])

    }

    @Test func encodedBatchDecodes() throws {
        defer { bag.finish() }
        var acc = ProducerAccumulator(limits: Self.limits(maxRecords: 10))
        acc.addTopic("t", partitionCount: 1)
        acc.producerIDAssigned(id: 42, epoch: 3)
        let t0 = NIODeadline.now()
        let headers = KafkaRecordHeaders([("h", [1, 2]), ("n", nil)])
        for i in 0..<3 {
            let key: [UInt8]? = i == 1 ? nil : [UInt8(i)]
            let r = key.withUnsafeBytesOptional { k in
                Array("value-\(i)".utf8).withUnsafeBytes { v in
                    acc.append(topic: "t", partition: 0, timestamp: 1000 + Int64(i), key: k, value: v, headers: headers,
                               now: t0, makePromise: { bag.make() })
                }
            }
            guard case .appended(_, let index, _) = r else { Issue.record("not appended"); return }
            #expect(index == Int32(i))
        }
        acc.sealAll = true
        let d = acc.drain(now: t0) { _, _ in 1 }
        let batches = try RecordBatch.decodeAll(d.requests[0].batches[0].buffer)
        let b = try #require(batches.first)
        #expect(b.producerId == 42)
        #expect(b.producerEpoch == 3)
        #expect(b.baseSequence == 0)
        #expect(b.records.count == 3)
        #expect(b.records.map(\.offset) == [0, 1, 2])
        #expect(b.records.map(\.timestamp) == [1000, 1001, 1002])
        #expect(b.records[1].key == nil)
        #expect(b.records[2].key == ByteBuffer(bytes: [2]))
        #expect(b.records[0].value == ByteBuffer(string: "value-0"))
        #expect(b.records[0].headers == [KafkaRecordHeader(key: "h", value: ByteBuffer(bytes: [1, 2])),
                                         KafkaRecordHeader(key: "n", value: nil)])
        #expect(b.maxTimestamp == 1002)
    }

    /// A record block keeps each record's key and value apart, nulls included, and a record's
    /// size estimate counts the pre-encoded headers exactly as the batch writes them.
    @Test func recordBlockAndEncodedHeaders() throws {
        defer { bag.finish() }
        var block = KafkaRecordBlock()
        block.append(key: [1, 2], value: [3])
        block.append(key: nil, value: [4, 5, 6])
        block.append(key: [7], value: nil)
        block.append(key: nil, value: nil)
        block.appendRecord(key: { $0 += Array("k".utf8) }, value: { $0 += Array("written in place".utf8) })
        block.append(key: [], value: [])
        #expect(block.count == 6)
        #expect(block.byteCount == 2 + 1 + 3 + 1 + 1 + 16)
        #expect((0..<6).map { block.key($0).map(Array.init) } == [[1, 2], nil, [7], nil, Array("k".utf8), []])
        #expect((0..<6).map { block.value($0).map(Array.init) }
            == [[3], [4, 5, 6], nil, nil, Array("written in place".utf8), []])

        let headers = KafkaRecordHeaders([("version", Array("1".utf8)), ("empty", []), ("none", nil),
                                          (String(repeating: "n", count: 200), Array(repeating: 9, count: 300))])
        #expect(headers.count == 4)
        var acc = ProducerAccumulator(limits: Self.limits(maxRecords: 100))
        acc.addTopic("t", partitionCount: 1)
        acc.producerIDAssigned(id: 1, epoch: 0)
        let t0 = NIODeadline.now()
        var before = 0
        for i in 0..<block.count {
            let k = block.key(i).map(Array.init), v = block.value(i).map(Array.init)
            _ = k.withUnsafeBytesOptional { kb in
                v.withUnsafeBytesOptional { vb in
                    acc.append(topic: "t", partition: 0, timestamp: 5, key: kb, value: vb, headers: headers,
                               now: t0, makePromise: { bag.make() })
                }
            }
            let size = ProducerBatch.recordSize(offsetDelta: Int32(i), timestampDelta: 0, keyCount: k?.count,
                                                valueCount: v?.count, headers: headers)
            #expect(acc.bufferedBytes - before == size, "record \(i)")
            before = acc.bufferedBytes
        }
        acc.sealAll = true
        let d = acc.drain(now: t0) { _, _ in 1 }
        let b = try #require(try RecordBatch.decodeAll(d.requests[0].batches[0].buffer).first)
        #expect(b.records.map { $0.key.map { Array($0.readableBytesView) } } == (0..<6).map { block.key($0).map(Array.init) })
        #expect(b.records.map { $0.value.map { Array($0.readableBytesView) } } == (0..<6).map { block.value($0).map(Array.init) })
        for r in b.records {
            #expect(r.headers == [KafkaRecordHeader(key: "version", value: ByteBuffer(string: "1")),
                                  KafkaRecordHeader(key: "empty", value: ByteBuffer()),
                                  KafkaRecordHeader(key: "none", value: nil),
                                  KafkaRecordHeader(key: String(repeating: "n", count: 200),
                                                    value: ByteBuffer(bytes: Array(repeating: 9, count: 300)))])
        }
    }

    @Test func retryKeepsSequenceOrder() {
        defer { bag.finish() }
        var acc = ProducerAccumulator(limits: Self.limits(maxRecords: 2))
        acc.addTopic("t", partitionCount: 1)
        acc.producerIDAssigned(id: 1, epoch: 0)
        let t0 = NIODeadline.now()
        for i in 0..<6 { _ = append(&acc, partition: 0, value: "\(i)", now: t0) }
        acc.sealAll = true
        // Three batches go out in three requests (one batch per partition per request).
        var sent: [ProducerAccumulator.Request] = []
        for _ in 0..<3 { sent += acc.drain(now: t0) { _, _ in 1 }.requests }
        #expect(sent.flatMap(\.batches).map(\.baseSequence) == [0, 2, 4])
        // The first fails retriably, the later two are rejected as out of order: all come back.
        _ = acc.requestFinished(broker: 1, outcomes: [(sent[1].batches[0], .retry, nil)], now: t0)
        _ = acc.requestFinished(broker: 1, outcomes: [(sent[0].batches[0], .retry, nil)], now: t0)
        _ = acc.requestFinished(broker: 1, outcomes: [(sent[2].batches[0], .retry, nil)], now: t0)
        // Resent one at a time, in sequence order, with the same sequences.
        var resent: [Int32] = []
        for _ in 0..<3 {
            let d = acc.drain(now: t0) { _, _ in 1 }
            #expect(d.requests.count == 1)
            guard let b = d.requests.first?.batches.first else { break }
            #expect(acc.drain(now: t0) { _, _ in 1 }.requests.isEmpty, "one batch at a time while retrying")
            resent.append(b.baseSequence)
            let done = acc.requestFinished(broker: 1, outcomes: [(b, .delivered(baseOffset: Int64(b.baseSequence)), nil)], now: t0)
            #expect(done.count == 1)
        }
        #expect(resent == [0, 2, 4])
        #expect(acc.isEmpty)
    }

    @Test func bufferLimitGivesBackPressure() {
        defer { bag.finish() }
        var acc = ProducerAccumulator(limits: Self.limits(maxRecords: 100, maxBuffered: 200))
        acc.addTopic("t", partitionCount: 1)
        let t0 = NIODeadline.now()
        var appended = 0
        while case .appended = append(&acc, partition: 0, value: String(repeating: "x", count: 40), now: t0) {
            appended += 1
            if appended > 100 { break }
        }
        #expect(appended > 0 && appended < 10)
        #expect(acc.bufferedBytes <= 200)
        #expect(acc.sealAll, "memory pressure closes open batches")
    }

    @Test func unknownLeaderAsksForMetadata() {
        defer { bag.finish() }
        var acc = ProducerAccumulator(limits: Self.limits(idempotent: false))
        acc.addTopic("t", partitionCount: 1)
        acc.sealAll = true
        _ = append(&acc, partition: 0, value: "a", now: .now())
        let d = acc.drain(now: .now()) { _, _ in nil }
        #expect(d.requests.isEmpty)
        #expect(d.needMetadata == ["t"])
    }
}

@Suite struct ClientFetchFilterTests {
    static func batch(_ offsets: ClosedRange<Int64>, producer: Int64 = -1, transactional: Bool = false) -> RecordBatch {
        RecordBatch(records: offsets.map { KafkaRecord(offset: $0, timestamp: 1, value: ByteBuffer(string: "\($0)")) },
                    attributes: .init(transactional: transactional), producerId: producer, producerEpoch: 0, baseSequence: 0)
    }

    @Test func readCommittedDropsAbortedTransactions() {
        let batches = [
            Self.batch(0...1),
            Self.batch(2...3, producer: 5, transactional: true),  // aborted
            RecordBatch.control(.init(kind: .abort, coordinatorEpoch: 0), offset: 4, timestamp: 1, producerId: 5, producerEpoch: 0),
            Self.batch(5...6, producer: 6, transactional: true),  // committed
            RecordBatch.control(.init(kind: .commit, coordinatorEpoch: 0), offset: 7, timestamp: 1, producerId: 6, producerEpoch: 0),
            Self.batch(8...9, producer: 5, transactional: true),  // a later, committed transaction of 5
        ]
        let aborted = [FetchResponse.AbortedTransaction(producerId: 5, firstOffset: 2)]
        let committed = KafkaFetcher.filter(batches, from: 1, isolation: .readCommitted, aborted: aborted)
        #expect(committed.records.map(\.offset) == [1, 5, 6, 8, 9])
        #expect(committed.nextOffset == 10)
        // Without the broker's list the markers decide; the open transaction at 8 is held back.
        let byMarkers = KafkaFetcher.filter(batches, from: 1, isolation: .readCommitted, aborted: [])
        #expect(byMarkers.records.map(\.offset) == [1, 5, 6])
        #expect(byMarkers.nextOffset == 8)
        let all = KafkaFetcher.filter(batches, from: 0, isolation: .readUncommitted, aborted: aborted)
        #expect(all.records.map(\.offset) == [0, 1, 2, 3, 5, 6, 8, 9])
    }
}

extension Optional where Wrapped == [UInt8] {
    func withUnsafeBytesOptional<R>(_ body: (UnsafeRawBufferPointer?) -> R) -> R {
        switch self {
        case .none: body(nil)
        case .some(let a): a.withUnsafeBytes { body($0) }
        }
    }
}


/// What the handler wrote to `channel`, cut into request frames by their size prefix (a frame may
/// go out in several buffers: its head apart from the rest).
func outboundFrames(_ channel: EmbeddedChannel) throws -> [ByteBuffer] {
    var stream = ByteBuffer()
    while var out = try channel.readOutbound(as: ByteBuffer.self) { stream.writeBuffer(&out) }
    var frames: [ByteBuffer] = []
    while let size = stream.getInteger(at: stream.readerIndex, as: Int32.self), stream.readableBytes >= 4 + Int(size) {
        frames.append(stream.readSlice(length: 4 + Int(size))!)
    }
    #expect(stream.readableBytes == 0, "a partial frame was written")
    return frames
}

@testable import KafkaWire
import NIOCore
import Testing
import WireCore

private func bytes(_ s: String) -> ByteBuffer { ByteBuffer(string: s) }

private func sampleRecords(base: Int64 = 100, count: Int = 5) -> [KafkaRecord] {
    (0..<count).map { i in
        KafkaRecord(offset: base + Int64(i), timestamp: 1_700_000_000_000 + Int64(i * 7),
                    key: i == 2 ? nil : bytes("key-\(i)"),
                    value: i == 3 ? nil : bytes(String(repeating: "value \(i) ", count: i + 1)),
                    headers: i == 1 ? [] : [KafkaRecordHeader(key: "lsn", value: bytes("0/1A2B3C\(i)")),
                                             KafkaRecordHeader(key: "op", value: nil)])
    }
}

@Suite struct CRC32CTests {
    @Test func knownVectors() {
        // RFC 3720 (iSCSI) B.4 and the usual check value.
        #expect(CRC32C.checksum(Array("123456789".utf8)) == 0xE306_9283)
        #expect(CRC32C.checksum([UInt8](repeating: 0, count: 32)) == 0x8A91_36AA)
        #expect(CRC32C.checksum([UInt8](repeating: 0xFF, count: 32)) == 0x62A8_AB43)
        #expect(CRC32C.checksum((0..<32).map { UInt8($0) }) == 0x46DD_794E)
        #expect(CRC32C.checksum([]) == 0)
    }

    @Test func seedContinuesAChecksum() {
        let data = (0..<1000).map { UInt8(truncatingIfNeeded: $0 &* 31) }
        let whole = CRC32C.checksum(data)
        for split in [0, 1, 7, 8, 9, 500, 999, 1000] {
            let first = data[..<split].withUnsafeBytes { CRC32C.checksum($0) }
            let both = data[split...].withUnsafeBytes { CRC32C.checksum($0, seed: first) }
            #expect(both == whole, "split at \(split)")
        }
    }
}

@Suite struct RecordBatchTests {
    @Test(arguments: [KafkaCompressionCodec.none, .gzip])
    func roundTrip(_ codec: KafkaCompressionCodec) throws {
        let batch = RecordBatch(records: sampleRecords(), attributes: .init(compression: codec),
                                partitionLeaderEpoch: 3, producerId: 4242, producerEpoch: 2, baseSequence: 17)
        var buffer = ByteBuffer()
        try batch.encode(into: &buffer)
        let decoded = try RecordBatch.decode(from: &buffer)
        #expect(buffer.readableBytes == 0)
        #expect(decoded == batch)
        #expect(decoded.attributes.compression == codec)
        #expect(decoded.lastOffsetDelta == 4)
        #expect(decoded.nextOffset == 105)
        #expect(decoded.maxTimestamp == 1_700_000_000_028)
        #expect(decoded.records[2].key == nil)
        #expect(decoded.records[3].value == nil)
        #expect(decoded.records[0].headers[1].value == nil)
    }

    @Test func layoutMatchesTheSpec() throws {
        let batch = RecordBatch(records: [KafkaRecord(offset: 0, timestamp: 5, key: nil, value: bytes("a"))],
                                attributes: .init(transactional: true), producerId: 9, producerEpoch: 1, baseSequence: 0)
        var buffer = ByteBuffer()
        try batch.encode(into: &buffer)
        let b = Array(buffer.readableBytesView)
        #expect(b.count == 61 + 8)  // header + one record of 7 bytes plus its length
        #expect(Array(b[8..<12]) == [0, 0, 0, UInt8(b.count - 12)])  // batchLength
        #expect(b[16] == 2)  // magic
        #expect(Array(b[21..<23]) == [0, 0x10])  // attributes: transactional
        let crc = UInt32(b[17]) << 24 | UInt32(b[18]) << 16 | UInt32(b[19]) << 8 | UInt32(b[20])
        #expect(crc == CRC32C.checksum(Array(b[21...])))
        // The record: length 7, attributes 0, timestamp delta 0, offset delta 0, key -1 (zigzag 1),
        // value length 1 (zigzag 2), "a", no headers.
        #expect(Array(b[61...]) == [14, 0, 0, 0, 1, 2, 0x61, 0])
    }

    @Test func varintsUseZigZag() throws {
        var buffer = ByteBuffer()
        for v: Int64 in [0, -1, 1, -64, 63, 64, Int64(Int32.max), Int64(Int32.min), Int64.max, Int64.min] {
            buffer.clear()
            buffer.kafkaWriteVarLong(v)
            #expect(try buffer.kafkaReadVarLong() == v)
        }
        buffer.clear()
        buffer.kafkaWriteVarInt(-1)
        #expect(Array(buffer.readableBytesView) == [1])
        buffer.clear()
        buffer.kafkaWriteVarInt(300)
        #expect(Array(buffer.readableBytesView) == [0xD8, 0x04])
        // Eleven continuation bytes are not a varlong.
        var bad = ByteBuffer(bytes: [UInt8](repeating: 0xFF, count: 11))
        #expect(throws: KafkaWireError.self) { _ = try bad.kafkaReadVarLong() }
    }

    @Test func crcMismatchIsDetected() throws {
        var buffer = ByteBuffer()
        try RecordBatch(records: sampleRecords()).encode(into: &buffer)
        var bytes = Array(buffer.readableBytesView)
        bytes[bytes.count - 3] ^= 0x40
        var corrupt = ByteBuffer(bytes: bytes)
        let error = #expect(throws: KafkaWireError.self) { _ = try RecordBatch.decode(from: &corrupt) }
        #expect(error?.code == .crcMismatch)
        // Without verification the flipped byte is read back (inside the last record's value).
        var unchecked = ByteBuffer(bytes: bytes)
        let decoded = try RecordBatch.decode(from: &unchecked, options: .init(verifyCRC: false))
        #expect(decoded.records.count == 5)
    }

    @Test func controlBatches() throws {
        for kind in [KafkaControlRecord.Kind.commit, .abort] {
            let batch = RecordBatch.control(KafkaControlRecord(kind: kind, coordinatorEpoch: 7), offset: 50,
                                            timestamp: 1000, producerId: 77, producerEpoch: 3)
            var buffer = ByteBuffer()
            try batch.encode(into: &buffer)
            let decoded = try RecordBatch.decode(from: &buffer)
            #expect(decoded.attributes.isControl)
            #expect(decoded.attributes.isTransactional)
            #expect(decoded.controlRecord == KafkaControlRecord(kind: kind, coordinatorEpoch: 7))
            #expect(decoded.producerId == 77)
        }
        #expect(RecordBatch(records: sampleRecords()).controlRecord == nil)
    }

    @Test func logAppendTimeUsesTheBatchTimestamp() {
        var batch = RecordBatch(records: sampleRecords(), attributes: .init(logAppendTime: true))
        batch.maxTimestamp = 42
        #expect(batch.timestamp(of: batch.records[0]) == 42)
        batch.attributes = .init()
        #expect(batch.timestamp(of: batch.records[0]) == batch.records[0].timestamp)
    }

    @Test func decodeAllSkipsAPartialTrailingBatch() throws {
        var buffer = ByteBuffer()
        try RecordBatch(records: sampleRecords(base: 0)).encode(into: &buffer)
        try RecordBatch(records: sampleRecords(base: 5)).encode(into: &buffer)
        let whole = buffer
        let two = try RecordBatch.decodeAll(whole)
        #expect(two.map(\.baseOffset) == [0, 5])
        let cut = whole.getSlice(at: whole.readerIndex, length: whole.readableBytes - 10)!
        #expect(try RecordBatch.decodeAll(cut).map(\.baseOffset) == [0])
    }

    @Test(arguments: KafkaCompressionCodec.allCases)
    func everyCodecRoundTrips(codec: KafkaCompressionCodec) throws {
        var buffer = ByteBuffer()
        let records = sampleRecords(count: 50)
        try RecordBatch(records: records, attributes: .init(compression: codec)).encode(into: &buffer)
        let decoded = try RecordBatch.decodeAll(buffer)
        #expect(decoded.count == 1)
        #expect(decoded.first?.attributes.compression == codec)
        #expect(decoded.first?.records == records)
    }

    @Test(arguments: [KafkaCompressionCodec.gzip, .snappy, .lz4, .zstd])
    func corruptCompressedPayloadIsATypedError(codec: KafkaCompressionCodec) throws {
        var buffer = ByteBuffer()
        try RecordBatch(records: sampleRecords(count: 20), attributes: .init(compression: codec)).encode(into: &buffer)
        var bytes = Array(buffer.readableBytesView)
        // Cut the compressed payload short and fix length and CRC, so only the codec sees the damage.
        bytes.removeLast(8)
        let length = Int32(bytes.count - 12)
        bytes.replaceSubrange(8..<12, with: withUnsafeBytes(of: length.bigEndian, Array.init))
        let crc = CRC32C.checksum(Array(bytes[21...]))
        bytes.replaceSubrange(17..<21, with: withUnsafeBytes(of: crc.bigEndian, Array.init))
        var b = ByteBuffer(bytes: bytes)
        let error = #expect(throws: KafkaWireError.self) { _ = try RecordBatch.decode(from: &b) }
        #expect(error?.code == .compressionFailed)
    }

    @Test func inconsistentCountsAreRejected() throws {
        var buffer = ByteBuffer()
        try RecordBatch(records: sampleRecords(count: 1)).encode(into: &buffer)
        var bytes = Array(buffer.readableBytesView)
        // Claim 2^31-1 records (count at bytes 57..<61), then fix the CRC so only the count is wrong.
        bytes.replaceSubrange(57..<61, with: [0x7F, 0xFF, 0xFF, 0xFF])
        let crc = CRC32C.checksum(Array(bytes[21...]))
        bytes.replaceSubrange(17..<21, with: [UInt8(crc >> 24), UInt8((crc >> 16) & 0xFF), UInt8((crc >> 8) & 0xFF), UInt8(crc & 0xFF)])
        var b = ByteBuffer(bytes: bytes)
        #expect(throws: KafkaWireError.self) { _ = try RecordBatch.decode(from: &b) }
    }
}

@Suite struct GzipTests {
    @Test func roundTripAndConcatenatedMembers() throws {
        let a = Array("hello, kafka ".utf8), b = Array(String(repeating: "x", count: 100_000).utf8)
        let ca = try RecordCompression.compress(a, codec: .gzip), cb = try RecordCompression.compress(b, codec: .gzip)
        #expect(ca[0] == 0x1F && ca[1] == 0x8B)
        #expect(try RecordCompression.decompress(ca + cb, codec: .gzip, maxOutput: 1 << 20) == a + b)
        #expect(throws: KafkaWireError.self) { _ = try RecordCompression.decompress(cb, codec: .gzip, maxOutput: 1000) }
        #expect(throws: KafkaWireError.self) {
            _ = try RecordCompression.decompress(Array(ca.dropLast(4)), codec: .gzip, maxOutput: 1 << 20)
        }
        #expect(throws: KafkaWireError.self) { _ = try RecordCompression.decompress([1, 2, 3, 4], codec: .gzip, maxOutput: 1 << 20) }
    }
}

@Suite struct LegacyMessageSetTests {
    /// Builds one legacy message by hand (layout in LegacyMessageSet.swift).
    static func message(offset: Int64, magic: Int8, attributes: Int8 = 0, timestamp: Int64 = 0,
                        key: [UInt8]?, value: [UInt8]?) -> [UInt8] {
        var body = ByteBuffer()
        body.writeInteger(magic)
        body.writeInteger(attributes)
        if magic == 1 { body.writeInteger(timestamp) }
        for field in [key, value] {
            if let field { body.writeInteger(Int32(field.count)); body.writeBytes(field) } else { body.writeInteger(Int32(-1)) }
        }
        let crc = LegacyCRC32.crc32(Array(body.readableBytesView))
        var m = ByteBuffer()
        m.writeInteger(offset)
        m.writeInteger(Int32(4 + body.readableBytes))
        m.writeInteger(crc)
        m.writeBuffer(&body)
        return Array(m.readableBytesView)
    }

    @Test func plainMessagesOfBothMagics() throws {
        let set = Self.message(offset: 10, magic: 0, key: nil, value: Array("v0".utf8))
            + Self.message(offset: 11, magic: 1, timestamp: 1234, key: Array("k".utf8), value: nil)
        let batches = try RecordBatch.decodeAll(ByteBuffer(bytes: set))
        #expect(batches.count == 2)
        #expect(batches[0].magic == 0)
        #expect(batches[0].records[0].offset == 10)
        #expect(batches[0].records[0].value == ByteBuffer(string: "v0"))
        #expect(batches[0].records[0].timestamp == -1)
        #expect(batches[1].magic == 1)
        #expect(batches[1].records[0].key == ByteBuffer(string: "k"))
        #expect(batches[1].records[0].value == nil)
        #expect(batches[1].records[0].timestamp == 1234)
    }

    @Test func gzipWrapperWithRelativeOffsets() throws {
        // Magic 1: inner offsets 0, 1, 2 are relative; the wrapper holds the absolute last offset.
        let inner = (0..<3).flatMap { i in
            Self.message(offset: Int64(i), magic: 1, timestamp: 500 + Int64(i), key: nil, value: Array("m\(i)".utf8))
        }
        let wrapper = Self.message(offset: 42, magic: 1, attributes: 1, timestamp: 502, key: nil,
                                   value: try RecordCompression.compress(inner, codec: .gzip))
        let batches = try RecordBatch.decodeAll(ByteBuffer(bytes: wrapper))
        #expect(batches.count == 1)
        #expect(batches[0].records.map(\.offset) == [40, 41, 42])
        #expect(batches[0].records.map(\.timestamp) == [500, 501, 502])
        #expect(batches[0].attributes.compression == .gzip)
    }

    @Test func legacyCRCMismatch() throws {
        var m = Self.message(offset: 1, magic: 0, key: nil, value: Array("abc".utf8))
        m[m.count - 1] ^= 1
        let error = #expect(throws: KafkaWireError.self) { _ = try RecordBatch.decodeAll(ByteBuffer(bytes: m)) }
        #expect(error?.code == .crcMismatch)
    }
}

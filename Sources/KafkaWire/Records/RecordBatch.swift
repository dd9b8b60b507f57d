import WireCore
public import NIOCore

/// One record header: a string key and a nullable value.
public struct KafkaRecordHeader: Sendable, Hashable {
    public var key: String
    public var value: ByteBuffer?

    public init(key: String, value: ByteBuffer?) {
        self.key = key
        self.value = value
    }
}

/// One record with its absolute offset and timestamp (the batch's base plus the record's deltas).
///
/// In a batch whose timestamp type is log-append time the broker's time is the batch's
/// `maxTimestamp`, not the record's own field; `RecordBatch.timestamp(of:)` applies that rule.
public struct KafkaRecord: Sendable, Hashable {
    public var offset: Int64
    public var timestamp: Int64
    public var key: ByteBuffer?
    public var value: ByteBuffer?
    public var headers: [KafkaRecordHeader]

    public init(offset: Int64 = 0, timestamp: Int64 = 0, key: ByteBuffer? = nil, value: ByteBuffer? = nil,
                headers: [KafkaRecordHeader] = []) {
        self.offset = offset
        self.timestamp = timestamp
        self.key = key
        self.value = value
        self.headers = headers
    }
}

/// The marker a transaction coordinator writes as a control batch's only record.
public struct KafkaControlRecord: Sendable, Hashable {
    public enum Kind: Int16, Sendable, Hashable {
        case abort = 0
        case commit = 1
    }

    public var kind: Kind
    public var coordinatorEpoch: Int32

    public init(kind: Kind, coordinatorEpoch: Int32) {
        self.kind = kind
        self.coordinatorEpoch = coordinatorEpoch
    }
}

/// A record batch (magic 2), or a legacy message set (magic 0/1) turned into the same shape.
///
/// Layout (https://kafka.apache.org/documentation/#recordbatch): baseOffset INT64,
/// batchLength INT32, partitionLeaderEpoch INT32, magic INT8, crc UINT32 (CRC-32C of everything
/// from attributes to the end), attributes INT16, lastOffsetDelta INT32, baseTimestamp INT64,
/// maxTimestamp INT64, producerId INT64, producerEpoch INT16, baseSequence INT32, then the
/// record count INT32 and the records, compressed as one block when the codec is not none.
public struct RecordBatch: Sendable, Hashable {
    /// Attribute bits of a magic-2 batch.
    public struct Attributes: Sendable, Hashable {
        public var rawValue: Int16

        public init(rawValue: Int16) { self.rawValue = rawValue }

        public init(compression: KafkaCompressionCodec = .none, logAppendTime: Bool = false,
                    transactional: Bool = false, control: Bool = false) {
            rawValue = Int16(compression.rawValue)
            if logAppendTime { rawValue |= 0x08 }
            if transactional { rawValue |= 0x10 }
            if control { rawValue |= 0x20 }
        }

        /// Bits 0-2; nil for a value no codec has.
        public var compression: KafkaCompressionCodec? { KafkaCompressionCodec(rawValue: Int8(rawValue & 0x07)) }
        /// Bit 3: the timestamps are the broker's log-append time, not the producer's create time.
        public var logAppendTime: Bool { rawValue & 0x08 != 0 }
        /// Bit 4: the batch belongs to a transaction.
        public var isTransactional: Bool { rawValue & 0x10 != 0 }
        /// Bit 5: the batch holds a transaction marker, not user records.
        public var isControl: Bool { rawValue & 0x20 != 0 }
        /// Bit 6: the base timestamp is the delete horizon of a compacted batch.
        public var hasDeleteHorizon: Bool { rawValue & 0x40 != 0 }
    }

    public var baseOffset: Int64
    public var partitionLeaderEpoch: Int32
    /// 2 for record batches; 0 or 1 for batches decoded from legacy message sets.
    public var magic: Int8
    public var attributes: Attributes
    public var lastOffsetDelta: Int32
    public var baseTimestamp: Int64
    public var maxTimestamp: Int64
    public var producerId: Int64
    public var producerEpoch: Int16
    public var baseSequence: Int32
    public var records: [KafkaRecord]

    /// A batch of `records` whose offsets and timestamps are already absolute: the base offset
    /// and timestamp come from the first record, the deltas and maximum from all of them.
    public init(records: [KafkaRecord], attributes: Attributes = Attributes(), partitionLeaderEpoch: Int32 = -1,
                producerId: Int64 = -1, producerEpoch: Int16 = -1, baseSequence: Int32 = -1) {
        self.baseOffset = records.first?.offset ?? 0
        self.partitionLeaderEpoch = partitionLeaderEpoch
        self.magic = 2
        self.attributes = attributes
        let last = records.last?.offset ?? baseOffset
        self.lastOffsetDelta = Int32(clamping: last &- baseOffset)
        self.baseTimestamp = records.first?.timestamp ?? -1
        self.maxTimestamp = records.map(\.timestamp).max() ?? -1
        self.producerId = producerId
        self.producerEpoch = producerEpoch
        self.baseSequence = baseSequence
        self.records = records
    }

    /// Every field given as it is on the wire.
    public init(baseOffset: Int64, partitionLeaderEpoch: Int32, magic: Int8 = 2, attributes: Attributes,
                lastOffsetDelta: Int32, baseTimestamp: Int64, maxTimestamp: Int64, producerId: Int64,
                producerEpoch: Int16, baseSequence: Int32, records: [KafkaRecord]) {
        self.baseOffset = baseOffset
        self.partitionLeaderEpoch = partitionLeaderEpoch
        self.magic = magic
        self.attributes = attributes
        self.lastOffsetDelta = lastOffsetDelta
        self.baseTimestamp = baseTimestamp
        self.maxTimestamp = maxTimestamp
        self.producerId = producerId
        self.producerEpoch = producerEpoch
        self.baseSequence = baseSequence
        self.records = records
    }

    /// The offset after the last one this batch covers (records may have been compacted away).
    public var nextOffset: Int64 { baseOffset &+ Int64(lastOffsetDelta) &+ 1 }

    /// The record's timestamp as a consumer should see it: the batch's max timestamp under
    /// log-append time, the record's own otherwise.
    public func timestamp(of record: KafkaRecord) -> Int64 {
        attributes.logAppendTime ? maxTimestamp : record.timestamp
    }

    /// The marker of a control batch, or nil when this is not one or its record is unreadable.
    public var controlRecord: KafkaControlRecord? {
        guard attributes.isControl, var key = records.first?.key, key.readableBytes >= 4 else { return nil }
        guard let _ = key.readInteger(as: Int16.self), let type = key.readInteger(as: Int16.self),
              let kind = KafkaControlRecord.Kind(rawValue: type) else { return nil }
        var epoch: Int32 = 0
        if var value = records.first?.value, value.readableBytes >= 6 {
            _ = value.readInteger(as: Int16.self)
            epoch = value.readInteger(as: Int32.self) ?? 0
        }
        return KafkaControlRecord(kind: kind, coordinatorEpoch: epoch)
    }

    /// A control batch holding one transaction marker, as a coordinator writes it.
    public static func control(_ marker: KafkaControlRecord, offset: Int64, timestamp: Int64, producerId: Int64,
                               producerEpoch: Int16, partitionLeaderEpoch: Int32 = -1) -> RecordBatch {
        var key = ByteBuffer()
        key.writeInteger(Int16(0))
        key.writeInteger(marker.kind.rawValue)
        var value = ByteBuffer()
        value.writeInteger(Int16(0))
        value.writeInteger(marker.coordinatorEpoch)
        let record = KafkaRecord(offset: offset, timestamp: timestamp, key: key, value: value)
        return RecordBatch(records: [record], attributes: Attributes(transactional: true, control: true),
                           partitionLeaderEpoch: partitionLeaderEpoch, producerId: producerId,
                           producerEpoch: producerEpoch, baseSequence: -1)
    }
}

// MARK: encoding

extension RecordBatch {
    /// The size of everything before the records: the fixed header and the record count.
    static let headerSize = 61
    /// Bytes from the start of the batch to the CRC-covered part (attributes).
    static let crcStart = 21

    /// Appends the batch in the magic-2 format, compressing the records with the codec of its
    /// attributes. Throws for a codec that is not available or records whose offsets or
    /// timestamps do not fit the deltas.
    public func encode(into buffer: inout ByteBuffer) throws {
        guard magic == 2 else { throw KafkaWireError(.unsupportedMagic, "only magic 2 is written, not \(magic)") }
        guard let codec = attributes.compression else {
            throw KafkaWireError(.unsupportedCompression, "attributes \(attributes.rawValue)")
        }
        let start = buffer.writerIndex
        buffer.writeInteger(baseOffset)
        buffer.writeInteger(Int32(0))  // batchLength, patched below
        buffer.writeInteger(partitionLeaderEpoch)
        buffer.writeInteger(Int8(2))
        buffer.writeInteger(UInt32(0))  // crc, patched below
        buffer.writeInteger(attributes.rawValue)
        buffer.writeInteger(lastOffsetDelta)
        buffer.writeInteger(baseTimestamp)
        buffer.writeInteger(maxTimestamp)
        buffer.writeInteger(producerId)
        buffer.writeInteger(producerEpoch)
        buffer.writeInteger(baseSequence)
        buffer.writeInteger(Int32(records.count))
        if codec == .none {
            for r in records { try encodeRecord(r, into: &buffer) }
        } else {
            var plain = ByteBuffer()
            for r in records { try encodeRecord(r, into: &plain) }
            let compressed = try RecordCompression.compress(Array(plain.readableBytesView), codec: codec)
            buffer.writeBytes(compressed)
        }
        let end = buffer.writerIndex
        let batchLength = end - start - 12
        guard batchLength <= Int(Int32.max) else { throw KafkaWireError(.valueTooLong, "record batch") }
        buffer.setInteger(Int32(batchLength), at: start + 8)
        let crc = buffer.withUnsafeReadableBytes { all in
            // The readable view starts at the reader index; the batch starts at `start`.
            let from = start - buffer.readerIndex + RecordBatch.crcStart
            return CRC32C.checksum(UnsafeRawBufferPointer(rebasing: all[from..<(end - buffer.readerIndex)]))
        }
        buffer.setInteger(crc, at: start + 17)
    }

    private func encodeRecord(_ r: KafkaRecord, into buffer: inout ByteBuffer) throws {
        guard let offsetDelta = Int32(exactly: r.offset &- baseOffset), r.offset >= baseOffset else {
            throw KafkaWireError(.invalidRecordBatch, "record offset \(r.offset) below or far from base \(baseOffset)")
        }
        let timestampDelta = r.timestamp &- baseTimestamp
        var body = ByteBuffer()
        body.writeInteger(Int8(0))  // record attributes: unused
        body.kafkaWriteVarLong(timestampDelta)
        body.kafkaWriteVarInt(offsetDelta)
        try Self.writeVarBytes(r.key, into: &body)
        try Self.writeVarBytes(r.value, into: &body)
        body.kafkaWriteVarInt(Int32(truncatingIfNeeded: r.headers.count))
        for h in r.headers {
            let keyLength = h.key.utf8.count
            guard keyLength <= Int(Int32.max) else { throw KafkaWireError(.valueTooLong, "header key") }
            body.kafkaWriteVarInt(Int32(keyLength))
            body.writeString(h.key)
            try Self.writeVarBytes(h.value, into: &body)
        }
        guard body.readableBytes <= Int(Int32.max) else { throw KafkaWireError(.valueTooLong, "record") }
        buffer.kafkaWriteVarInt(Int32(body.readableBytes))
        buffer.writeBuffer(&body)
    }

    private static func writeVarBytes(_ b: ByteBuffer?, into buffer: inout ByteBuffer) throws {
        guard let b else {
            buffer.kafkaWriteVarInt(-1)
            return
        }
        guard b.readableBytes <= Int(Int32.max) else { throw KafkaWireError(.valueTooLong, "record field") }
        buffer.kafkaWriteVarInt(Int32(b.readableBytes))
        buffer.writeImmutableBuffer(b)
    }
}

// MARK: decoding

/// Options for reading record batches from untrusted bytes.
public struct RecordBatchDecodingOptions: Sendable, Hashable {
    /// Check each batch's CRC (CRC-32C for magic 2, CRC-32 for legacy messages).
    public var verifyCRC: Bool = true
    /// The most bytes one compressed block may inflate to.
    public var maxDecompressedBytes: Int = RecordCompression.defaultMaxOutput

    public init(verifyCRC: Bool = true, maxDecompressedBytes: Int = 256 << 20) {
        self.verifyCRC = verifyCRC
        self.maxDecompressedBytes = maxDecompressedBytes
    }
}

extension RecordBatch {
    /// Decodes every complete batch of a `records` field (a Fetch response's partition data,
    /// say). Magic 2 batches and legacy magic 0/1 message sets may be mixed. A batch cut short
    /// at the end (a broker fills a fetch up to its size limit) is left out, as Kafka's clients do.
    public static func decodeAll(_ records: ByteBuffer,
                                 options: RecordBatchDecodingOptions = RecordBatchDecodingOptions()) throws -> [RecordBatch] {
        var buffer = records
        var batches: [RecordBatch] = []
        while buffer.readableBytes >= 17 {
            guard let length = buffer.getInteger(at: buffer.readerIndex + 8, as: Int32.self),
                  let magic = buffer.getInteger(at: buffer.readerIndex + 16, as: Int8.self) else { break }
            guard length >= 0 else { throw KafkaWireError(.invalidRecordBatch, "batch length \(length)") }
            guard Int(length) <= buffer.readableBytes - 12 else { break }  // partial trailing batch
            switch magic {
            case 2:
                batches.append(try decode(from: &buffer, options: options))
            case 0, 1:
                guard var slice = buffer.readSlice(length: 12 + Int(length)) else {
                    throw KafkaWireError(.truncated, "legacy message")
                }
                batches.append(contentsOf: try LegacyMessageSet.decodeEntry(from: &slice, options: options))
            default:
                throw KafkaWireError(.unsupportedMagic, "magic \(magic)")
            }
        }
        return batches
    }

    /// Decodes one magic-2 batch and moves the reader past it.
    public static func decode(from buffer: inout ByteBuffer,
                              options: RecordBatchDecodingOptions = RecordBatchDecodingOptions()) throws -> RecordBatch {
        guard buffer.readableBytes >= 12 else { throw KafkaWireError(.truncated, "record batch header") }
        let start = buffer.readerIndex
        guard let length = buffer.getInteger(at: start + 8, as: Int32.self) else {
            throw KafkaWireError(.truncated, "record batch length")
        }
        guard length >= Int32(headerSize - 12) else {
            throw KafkaWireError(.invalidRecordBatch, "batch length \(length) below the header size")
        }
        guard Int(length) <= buffer.readableBytes - 12, var batch = buffer.readSlice(length: 12 + Int(length)) else {
            throw KafkaWireError(.truncated, "record batch of \(length) bytes")
        }
        let baseOffset = try batch.kafkaReadInteger(as: Int64.self)
        _ = try batch.kafkaReadInteger(as: Int32.self)
        let partitionLeaderEpoch = try batch.kafkaReadInteger(as: Int32.self)
        let magic = try batch.kafkaReadInteger(as: Int8.self)
        guard magic == 2 else { throw KafkaWireError(.unsupportedMagic, "magic \(magic) at offset \(baseOffset)") }
        let crc = try batch.kafkaReadInteger(as: UInt32.self)
        if options.verifyCRC {
            let actual = batch.withUnsafeReadableBytes { CRC32C.checksum($0) }
            guard actual == crc else {
                throw KafkaWireError(.crcMismatch, "batch at offset \(baseOffset): stored \(crc), computed \(actual)")
            }
        }
        let attributes = Attributes(rawValue: try batch.kafkaReadInteger(as: Int16.self))
        let lastOffsetDelta = try batch.kafkaReadInteger(as: Int32.self)
        let baseTimestamp = try batch.kafkaReadInteger(as: Int64.self)
        let maxTimestamp = try batch.kafkaReadInteger(as: Int64.self)
        let producerId = try batch.kafkaReadInteger(as: Int64.self)
        let producerEpoch = try batch.kafkaReadInteger(as: Int16.self)
        let baseSequence = try batch.kafkaReadInteger(as: Int32.self)
        let count = try batch.kafkaReadInteger(as: Int32.self)
        guard count >= 0 else { throw KafkaWireError(.invalidRecordBatch, "record count \(count)") }
        guard let codec = attributes.compression else {
            throw KafkaWireError(.unsupportedCompression, "attributes \(attributes.rawValue) at offset \(baseOffset)")
        }
        var body: ByteBuffer
        if codec == .none {
            body = batch
        } else {
            let plain = try RecordCompression.decompress(Array(batch.readableBytesView), codec: codec,
                                                         maxOutput: options.maxDecompressedBytes)
            body = ByteBuffer(bytes: plain)
        }
        // Every record takes at least 7 bytes (length, attributes, two deltas, key, value, headers).
        guard Int(count) <= body.readableBytes / 7 + 1 else {
            throw KafkaWireError(.invalidRecordBatch, "\(count) records in \(body.readableBytes) bytes")
        }
        var records: [KafkaRecord] = []
        records.reserveCapacity(min(Int(count), 4096))
        for _ in 0..<count {
            records.append(try decodeRecord(from: &body, baseOffset: baseOffset, baseTimestamp: baseTimestamp))
        }
        guard body.readableBytes == 0 else {
            throw KafkaWireError(.invalidRecordBatch, "\(body.readableBytes) bytes after the last record at offset \(baseOffset)")
        }
        return RecordBatch(baseOffset: baseOffset, partitionLeaderEpoch: partitionLeaderEpoch, magic: 2,
                           attributes: attributes, lastOffsetDelta: lastOffsetDelta, baseTimestamp: baseTimestamp,
                           maxTimestamp: maxTimestamp, producerId: producerId, producerEpoch: producerEpoch,
                           baseSequence: baseSequence, records: records)
    }

    private static func decodeRecord(from buffer: inout ByteBuffer, baseOffset: Int64,
                                     baseTimestamp: Int64) throws -> KafkaRecord {
        let length = try buffer.kafkaReadVarInt()
        guard length >= 0, Int(length) <= buffer.readableBytes, var r = buffer.readSlice(length: Int(length)) else {
            throw KafkaWireError(.invalidRecordBatch, "record length \(length) with \(buffer.readableBytes) bytes left")
        }
        _ = try r.kafkaReadInteger(as: Int8.self)  // record attributes: unused
        let timestampDelta = try r.kafkaReadVarLong()
        let offsetDelta = try r.kafkaReadVarInt()
        let key = try readVarBytes(&r, "record key")
        let value = try readVarBytes(&r, "record value")
        let headerCount = try r.kafkaReadVarInt()
        // A header takes at least two bytes (two varint lengths).
        guard headerCount >= 0, Int(headerCount) <= r.readableBytes / 2 else {
            throw KafkaWireError(.invalidRecordBatch, "header count \(headerCount)")
        }
        var headers: [KafkaRecordHeader] = []
        headers.reserveCapacity(min(Int(headerCount), 64))
        for _ in 0..<headerCount {
            let keyLength = try r.kafkaReadVarInt()
            guard keyLength >= 0, Int(keyLength) <= r.readableBytes, let key = r.readString(length: Int(keyLength)) else {
                throw KafkaWireError(.invalidRecordBatch, "header key length \(keyLength)")
            }
            headers.append(KafkaRecordHeader(key: key, value: try readVarBytes(&r, "header value")))
        }
        guard r.readableBytes == 0 else {
            throw KafkaWireError(.invalidRecordBatch, "\(r.readableBytes) bytes left inside a record")
        }
        return KafkaRecord(offset: baseOffset &+ Int64(offsetDelta), timestamp: baseTimestamp &+ timestampDelta,
                           key: key, value: value, headers: headers)
    }

    private static func readVarBytes(_ buffer: inout ByteBuffer, _ what: StaticString) throws -> ByteBuffer? {
        let length = try buffer.kafkaReadVarInt()
        if length == -1 { return nil }
        guard length >= 0, Int(length) <= buffer.readableBytes, let slice = buffer.readSlice(length: Int(length)) else {
            throw KafkaWireError(.invalidRecordBatch, "\(what) length \(length)")
        }
        return slice
    }
}

import CZlib
import NIOCore

/// Legacy message sets (magic 0 and 1), read so that old topics stay consumable; never written.
///
/// Each entry: offset INT64, messageSize INT32, crc UINT32 (CRC-32 of the rest), magic INT8,
/// attributes INT8 (codec in bits 0-2; magic 1: bit 3 = log-append time), timestamp INT64
/// (magic 1 only), key BYTES, value BYTES. A compressed entry's value is itself a message set
/// (the "wrapper"); with magic 1 the inner offsets are relative and the wrapper carries the
/// absolute offset of the last inner message.
enum LegacyMessageSet {
    /// One wire entry (a plain message or a compressed wrapper) as one batch.
    static func decodeEntry(from buffer: inout ByteBuffer, options: RecordBatchDecodingOptions) throws -> [RecordBatch] {
        let message = try readMessage(from: &buffer, options: options)
        guard message.codec != .none else {
            let record = KafkaRecord(offset: message.offset, timestamp: message.timestamp, key: message.key,
                                     value: message.value, headers: [])
            return [batch(of: [record], magic: message.magic, attributes: message.attributes)]
        }
        guard let value = message.value else {
            throw KafkaWireError(.invalidRecordBatch, "compressed legacy message without a value at offset \(message.offset)")
        }
        let plain = try RecordCompression.decompress(Array(value.readableBytesView), codec: message.codec,
                                                     maxOutput: options.maxDecompressedBytes)
        var inner = ByteBuffer(bytes: plain)
        var messages: [Message] = []
        while inner.readableBytes > 0 {
            let m = try readMessage(from: &inner, options: options)
            // Inner messages are never compressed again: refusing that bounds the nesting.
            guard m.codec == .none else {
                throw KafkaWireError(.invalidRecordBatch, "nested compressed legacy message at offset \(message.offset)")
            }
            messages.append(m)
        }
        guard let lastInner = messages.last?.offset else { return [] }
        let shift: Int64 = message.magic >= 1 ? message.offset &- lastInner : 0
        let logAppendTime = message.magic >= 1 && message.attributes & 0x08 != 0
        let records = messages.map { m in
            KafkaRecord(offset: m.offset &+ shift, timestamp: logAppendTime ? message.timestamp : m.timestamp,
                        key: m.key, value: m.value, headers: [])
        }
        return [batch(of: records, magic: message.magic, attributes: message.attributes)]
    }

    struct Message {
        var offset: Int64
        var magic: Int8
        var attributes: Int8
        var codec: KafkaCompressionCodec
        var timestamp: Int64
        var key: ByteBuffer?
        var value: ByteBuffer?
    }

    static func readMessage(from buffer: inout ByteBuffer, options: RecordBatchDecodingOptions) throws -> Message {
        let offset = try buffer.kafkaReadInteger(as: Int64.self)
        let size = try buffer.kafkaReadInteger(as: Int32.self)
        // crc + magic + attributes + key length + value length is the least a message holds.
        guard size >= 14, Int(size) <= buffer.readableBytes, var m = buffer.readSlice(length: Int(size)) else {
            throw KafkaWireError(.invalidRecordBatch, "legacy message size \(size) at offset \(offset)")
        }
        let crc = try m.kafkaReadInteger(as: UInt32.self)
        if options.verifyCRC {
            let actual = m.withUnsafeReadableBytes { raw -> UInt32 in
                let p = raw.bindMemory(to: Bytef.self)
                return UInt32(truncatingIfNeeded: crc32(0, p.baseAddress, uInt(raw.count)))
            }
            guard actual == crc else {
                throw KafkaWireError(.crcMismatch, "legacy message at offset \(offset): stored \(crc), computed \(actual)")
            }
        }
        let magic = try m.kafkaReadInteger(as: Int8.self)
        guard magic == 0 || magic == 1 else { throw KafkaWireError(.unsupportedMagic, "legacy magic \(magic)") }
        let attributes = try m.kafkaReadInteger(as: Int8.self)
        guard let codec = KafkaCompressionCodec(rawValue: attributes & 0x07) else {
            throw KafkaWireError(.unsupportedCompression, "legacy attributes \(attributes) at offset \(offset)")
        }
        let timestamp = magic == 1 ? try m.kafkaReadInteger(as: Int64.self) : -1
        let key = try m.kafkaReadNullableBytesSlice()
        let value = try m.kafkaReadNullableBytesSlice()
        guard m.readableBytes == 0 else {
            throw KafkaWireError(.invalidRecordBatch, "\(m.readableBytes) bytes after a legacy message at offset \(offset)")
        }
        return Message(offset: offset, magic: magic, attributes: attributes, codec: codec, timestamp: timestamp,
                       key: key, value: value)
    }

    static func batch(of records: [KafkaRecord], magic: Int8, attributes: Int8) -> RecordBatch {
        let base = records.first?.offset ?? 0
        let last = records.last?.offset ?? base
        let codec = KafkaCompressionCodec(rawValue: attributes & 0x07) ?? .none
        let logAppendTime = magic >= 1 && attributes & 0x08 != 0
        return RecordBatch(baseOffset: base, partitionLeaderEpoch: -1, magic: magic,
                           attributes: RecordBatch.Attributes(compression: codec, logAppendTime: logAppendTime),
                           lastOffsetDelta: Int32(clamping: last &- base),
                           baseTimestamp: records.first?.timestamp ?? -1,
                           maxTimestamp: records.map(\.timestamp).max() ?? -1,
                           producerId: -1, producerEpoch: -1, baseSequence: -1, records: records)
    }
}

extension ByteBuffer {
    /// INT32-length bytes (-1 for null) as a slice.
    mutating func kafkaReadNullableBytesSlice() throws -> ByteBuffer? {
        let n = try kafkaReadInteger(as: Int32.self)
        if n == -1 { return nil }
        guard n >= 0, Int(n) <= readableBytes, let slice = readSlice(length: Int(n)) else {
            throw KafkaWireError(.invalidRecordBatch, "bytes length \(n)")
        }
        return slice
    }
}

enum LegacyCRC32 {
    /// zlib's CRC-32 (the legacy message checksum).
    static func crc32(_ bytes: [UInt8]) -> UInt32 {
        bytes.withUnsafeBufferPointer { p in
            UInt32(truncatingIfNeeded: CZlib.crc32(0, p.baseAddress, uInt(p.count)))
        }
    }
}

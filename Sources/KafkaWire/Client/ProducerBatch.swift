import WireCore
import NIOCore
import Synchronization

/// One record batch being filled for a partition: records are encoded straight into the
/// buffer behind a 61-byte header placeholder, which `seal` fills in (and `stamp` completes with
/// the producer id, epoch, base sequence and CRC just before the first send).
struct ProducerBatch {
    var topic: String
    var partition: Int32
    var buffer: ByteBuffer
    var recordCount: Int32 = 0
    var firstTimestamp: Int64 = 0
    var maxTimestamp: Int64 = 0
    /// Bytes counted against the producer's buffer limit.
    var accountedBytes: Int = 0
    let createdAt: NIODeadline
    /// -1 until the batch is stamped for its first send.
    var baseSequence: Int32 = -1
    var attempts = 0
    var sealed = false
    let promise: EventLoopPromise<Int64>
    /// The batch's outcome for `DeliveryFuture`s: readable without an event-loop hop once known.
    let handle: BatchHandle

    init(topic: String, partition: Int32, capacity: Int, promise: EventLoopPromise<Int64>, now: NIODeadline) {
        self.topic = topic
        self.partition = partition
        var b = ByteBufferAllocator().buffer(capacity: capacity)
        b.writeRepeatingByte(0, count: RecordBatch.headerSize)
        buffer = b
        createdAt = now
        self.promise = promise
        handle = BatchHandle(promise.futureResult)
    }

    /// The encoded size of a record with these parts, including its length prefix.
    static func recordSize(offsetDelta: Int32, timestampDelta: Int64, keyCount: Int?, valueCount: Int?,
                           headers: KafkaRecordHeaders) -> Int {
        let body = bodySize(offsetDelta: offsetDelta, timestampDelta: timestampDelta, keyCount: keyCount,
                            valueCount: valueCount, headers: headers)
        return varLongSize(Int64(body)) + body
    }

    /// The size of a record without its length prefix.
    @inline(__always)
    static func bodySize(offsetDelta: Int32, timestampDelta: Int64, keyCount: Int?, valueCount: Int?,
                         headers: KafkaRecordHeaders) -> Int {
        var body = 1 + varLongSize(timestampDelta) + varLongSize(Int64(offsetDelta))
        body += keyCount.map { varLongSize(Int64($0)) + $0 } ?? 1
        body += valueCount.map { varLongSize(Int64($0)) + $0 } ?? 1
        return body + headers.encodedSize
    }

    /// The size of a zigzag varint.
    @inline(__always)
    static func varLongSize(_ v: Int64) -> Int {
        var u = UInt64(bitPattern: (v << 1) ^ (v >> 63))
        var n = 1
        while u >= 0x80 {
            u >>= 7
            n += 1
        }
        return n
    }

    /// Stores bytes at a raw pointer the caller reserved room behind.
    struct RawWriter {
        let base: UnsafeMutableRawPointer
        var offset = 0
        @inline(__always) mutating func byte(_ b: UInt8) {
            base.storeBytes(of: b, toByteOffset: offset, as: UInt8.self)
            offset += 1
        }
        /// A zigzag varint (as Kafka's record fields use).
        @inline(__always) mutating func varLong(_ v: Int64) {
            var u = UInt64(bitPattern: (v << 1) ^ (v >> 63))
            while u >= 0x80 {
                byte(UInt8(truncatingIfNeeded: u) | 0x80)
                u >>= 7
            }
            byte(UInt8(u))
        }
        @inline(__always) mutating func bytes(_ b: UnsafeRawBufferPointer) {
            guard let from = b.baseAddress, b.count > 0 else { return }
            (base + offset).copyMemory(from: from, byteCount: b.count)
            offset += b.count
        }
    }

    /// Appends one record (no size checks: the accumulator decides whether it fits).
    mutating func append(timestamp: Int64, key: UnsafeRawBufferPointer?, value: UnsafeRawBufferPointer?,
                         headers: KafkaRecordHeaders) {
        if recordCount == 0 {
            firstTimestamp = timestamp
            maxTimestamp = timestamp
        } else if timestamp > maxTimestamp {
            maxTimestamp = timestamp
        }
        let offsetDelta = recordCount
        let timestampDelta = timestamp &- firstTimestamp
        let body = Self.bodySize(offsetDelta: offsetDelta, timestampDelta: timestampDelta, keyCount: key?.count,
                                 valueCount: value?.count, headers: headers)
        let total = Self.varLongSize(Int64(body)) + body
        // One reservation and raw stores: a ByteBuffer write per field costs more than the bytes.
        buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: total) { out in
            var w = RawWriter(base: out.baseAddress!)
            w.varLong(Int64(body))
            w.byte(0)
            w.varLong(timestampDelta)
            w.varLong(Int64(offsetDelta))
            if let key {
                w.varLong(Int64(key.count))
                w.bytes(key)
            } else {
                w.varLong(-1)
            }
            if let value {
                w.varLong(Int64(value.count))
                w.bytes(value)
            } else {
                w.varLong(-1)
            }
            w.varLong(Int64(headers.count))
            headers.bytes.withUnsafeBytes { w.bytes($0) }
            assert(w.offset == total)
            return total
        }
        recordCount += 1
    }

    /// Fills in the header fields known once the batch is closed, compressing the records when
    /// a codec is set.
    mutating func seal(compression: KafkaCompressionCodec, transactional: Bool) throws {
        guard !sealed else { return }
        sealed = true
        if compression != .none {
            let plain = Array(buffer.readableBytesView.dropFirst(RecordBatch.headerSize))
            let compressed = try RecordCompression.compress(plain, codec: compression)
            buffer.moveWriterIndex(to: buffer.readerIndex + RecordBatch.headerSize)
            buffer.writeBytes(compressed)
        }
        let start = buffer.readerIndex
        let attributes = RecordBatch.Attributes(compression: compression, transactional: transactional)
        buffer.setInteger(Int64(0), at: start)
        buffer.setInteger(Int32(buffer.readableBytes - 12), at: start + 8)
        buffer.setInteger(Int32(-1), at: start + 12)
        buffer.setInteger(Int8(2), at: start + 16)
        buffer.setInteger(attributes.rawValue, at: start + 21)
        buffer.setInteger(recordCount - 1, at: start + 23)
        buffer.setInteger(firstTimestamp, at: start + 27)
        buffer.setInteger(maxTimestamp, at: start + 35)
        buffer.setInteger(Int64(-1), at: start + 43)
        buffer.setInteger(Int16(-1), at: start + 51)
        buffer.setInteger(Int32(-1), at: start + 53)
        buffer.setInteger(recordCount, at: start + 57)
    }

    /// Sets the producer id, epoch and base sequence, then the CRC over attributes..end.
    mutating func stamp(producerID: Int64, epoch: Int16, baseSequence: Int32) {
        self.baseSequence = baseSequence
        let start = buffer.readerIndex
        buffer.setInteger(producerID, at: start + 43)
        buffer.setInteger(epoch, at: start + 51)
        buffer.setInteger(baseSequence, at: start + 53)
        let crc = buffer.withUnsafeReadableBytes { all in
            CRC32C.checksum(UnsafeRawBufferPointer(rebasing: all[RecordBatch.crcStart...]))
        }
        buffer.setInteger(crc, at: start + 17)
    }

    var byteCount: Int { buffer.readableBytes }
}

/// A batch's acknowledgement as its records' `DeliveryFuture`s see it: the future, and its result
/// copied under a lock when it completes, so that awaiting a record of a batch that is already
/// acknowledged returns at once instead of hopping to the event loop (one hop per record was
/// ~80 µs, the bottleneck of callers that check every record).
final class BatchHandle: Sendable {
    let future: EventLoopFuture<Int64>
    private let outcome = Mutex<Result<Int64, any Error>?>(nil)

    init(_ future: EventLoopFuture<Int64>) {
        self.future = future
        future.whenComplete { [self] result in self.outcome.withLock { $0 = result } }
    }

    /// The batch's base offset (or its error), waiting only when it is not known yet.
    func get() async throws -> Int64 {
        if let known = outcome.withLock({ $0 }) { return try known.get() }
        return try await future.get()
    }
}

/// Key partitioning exactly as Kafka's Java client (and librdkafka's `murmur2_random`) does it:
/// `toPositive(murmur2(key)) % partitionCount`.
public enum KafkaPartitioner {
    /// MurmurHash2, 32-bit, seed 0x9747b28c, with the Java client's tail handling.
    public static func murmur2(_ key: [UInt8]) -> Int32 {
        key.withUnsafeBytes { murmur2($0) }
    }

    public static func murmur2(_ data: UnsafeRawBufferPointer) -> Int32 {
        let m: UInt32 = 0x5bd1_e995
        let length = data.count
        var h: UInt32 = 0x9747_b28c ^ UInt32(truncatingIfNeeded: length)
        let blocks = length / 4
        for i in 0..<blocks {
            var k = UInt32(data[4 * i]) | UInt32(data[4 * i + 1]) << 8 | UInt32(data[4 * i + 2]) << 16
                | UInt32(data[4 * i + 3]) << 24
            k = k &* m
            k ^= k >> 24
            k = k &* m
            h = h &* m
            h ^= k
        }
        let tail = blocks * 4
        switch length % 4 {
        case 3:
            h ^= UInt32(data[tail + 2]) << 16
            h ^= UInt32(data[tail + 1]) << 8
            h ^= UInt32(data[tail])
            h = h &* m
        case 2:
            h ^= UInt32(data[tail + 1]) << 8
            h ^= UInt32(data[tail])
            h = h &* m
        case 1:
            h ^= UInt32(data[tail])
            h = h &* m
        default:
            break
        }
        h ^= h >> 13
        h = h &* m
        h ^= h >> 15
        return Int32(bitPattern: h)
    }

    /// The partition of a keyed record: the positive hash modulo the partition count.
    public static func partition(forKey key: [UInt8], partitionCount: Int32) -> Int32 {
        precondition(partitionCount > 0, "partition count must be positive")
        return (murmur2(key) & 0x7fff_ffff) % partitionCount
    }

    static func partition(forKey key: UnsafeRawBufferPointer, partitionCount: Int32) -> Int32 {
        (murmur2(key) & 0x7fff_ffff) % partitionCount
    }
}

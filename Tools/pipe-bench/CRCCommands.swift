import WireCore

/// `crc32c-bench [--mib N]`: CRC-32C throughput over an N MiB buffer, in MiB/s.
@Sendable func crc32cBench(_ args: [String]) async throws -> Int32 {
    let a = Arguments(args)
    let mib = a.int("mib", default: 256)
    let buffer = (0..<(1 << 20)).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ 7) }
    let clock = ContinuousClock()
    var crc: UInt32 = 0
    let t = clock.measure {
        buffer.withUnsafeBytes { b in
            for _ in 0..<mib { crc = CRC32C.checksum(b, seed: crc) }
        }
    }
    let s = Double(t.components.seconds) + Double(t.components.attoseconds) / 1e18
    writeStdout("crc32c_mib_per_sec=\(Int(Double(mib) / s)) (crc \(String(crc, radix: 16)))\n")
    return 0
}

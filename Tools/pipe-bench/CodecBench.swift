import Codecs
import FoundationEssentials

// `pipe-bench codec-bench --file F [--seconds S] [--ref-zstd F.zst] [--ref-lz4 F.lz4]
//  [--ref-snappy F.snappy] [--ref-gzip F.gz]`: compress and decompress MB/s of our codecs on one
// input. The --ref-* files are the C implementations' output for the same input; decoding them
// measures our decoder on the reference's streams as well as on our own. bench/codecs.sh runs the
// C tools on the same file in the same run and prints the ratio.

private func readFile(_ path: String) throws -> [UInt8] {
    [UInt8](try Data(contentsOf: URL(filePath: path)))
}

/// The fastest time of one run of `body`, repeating it for about `seconds`.
private func fastest(_ seconds: Double, _ body: () throws -> Void) rethrows -> Double {
    let clock = ContinuousClock()
    var best = Double.infinity
    let start = clock.now
    var runs = 0
    while runs < 3 || (clock.now - start) < .milliseconds(Int64(seconds * 1000)) {
        let t0 = clock.now
        try body()
        let d = clock.now - t0
        let s = Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18
        best = min(best, s)
        runs += 1
        if runs >= 1000 { break }
    }
    return best
}

func codecBench(_ args: [String]) throws {
    var opts: [String: String] = [:]
    var i = 0
    while i + 1 < args.count {
        opts[String(args[i].drop(while: { $0 == "-" }))] = args[i + 1]
        i += 2
    }
    guard let file = opts["file"] else {
        print("usage: pipe-bench codec-bench --file F [--seconds S] [--ref-zstd F] [--ref-lz4 F] [--ref-snappy F] [--ref-gzip F]")
        return
    }
    let seconds = Double(opts["seconds"] ?? "1") ?? 1
    let input = try readFile(file)
    let mb = Double(input.count) / 1e6
    func report(_ codec: String, _ op: String, _ secs: Double, ratio: Double) {
        let mbps = mb / secs
        print("codec-bench codec=\(codec) op=\(op) mbps=\((mbps * 10).rounded() / 10) ratio=\((ratio * 1000).rounded() / 1000)")
    }
    let codecs: [(String, CompressionCodec)] = [("zstd", .zstd), ("lz4", .lz4), ("snappy", .snappy), ("gzip", .gzip)]
    for (name, codec) in codecs {
        var compressed: [UInt8] = []
        let ct = try fastest(seconds) {
            compressed = try KafkaCompression.compress(input, codec: codec)
        }
        let ratio = Double(input.count) / Double(max(1, compressed.count))
        report(name, "compress", ct, ratio: ratio)
        var out: [UInt8] = []
        let dt = try fastest(seconds) {
            out = try KafkaCompression.decompress(compressed, codec: codec, maxOutput: 1 << 30)
        }
        precondition(out == input, "\(name): round trip differs")
        report(name, "decompress", dt, ratio: ratio)
        if let refPath = opts["ref-\(name)"] {
            let ref = try readFile(refPath)
            let rt = try fastest(seconds) {
                out = try KafkaCompression.decompress(ref, codec: codec, maxOutput: 1 << 30)
            }
            precondition(out == input, "\(name): decoding the reference's stream differs")
            report(name, "decompress-ref", rt, ratio: Double(input.count) / Double(max(1, ref.count)))
        }
    }
    // The checksums the frames carry.
    var sink: UInt64 = 0
    let h32 = fastest(seconds) { sink &+= UInt64(XXHash32.hash(input)) }
    report("xxhash32", "hash", h32, ratio: 1)
    let h64 = fastest(seconds) { sink &+= XXHash64.hash(input) }
    report("xxhash64", "hash", h64, ratio: 1)
    if sink == 42 { print("") }
    // LZ4 raw blocks of 1 MiB, as ClickHouse's native protocol sends them.
    let chunk = 1 << 20
    var blocks: [[UInt8]] = []
    let bt = fastest(seconds) {
        blocks = stride(from: 0, to: input.count, by: chunk).map {
            LZ4.compressBlock(Array(input[$0..<min(input.count, $0 + chunk)]))
        }
    }
    let total = blocks.reduce(0) { $0 + $1.count }
    report("lz4-block", "compress", bt, ratio: Double(input.count) / Double(max(1, total)))
    let bdt = try fastest(seconds) {
        var pos = 0
        for b in blocks {
            let n = min(chunk, input.count - pos)
            _ = try LZ4.decompressBlock(b, uncompressedSize: n)
            pos += n
        }
    }
    report("lz4-block", "decompress", bdt, ratio: Double(input.count) / Double(max(1, total)))
}

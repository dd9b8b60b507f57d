import Codecs
import Foundation
import PipeTestSupport
import Testing

/// What the reference implementations compress we decompress byte for byte, and what we compress
/// they decompress, over the whole corpus.
@Suite struct CrossCheckTests {
    @Test func lz4FramesFromTheCLI() throws {
        guard Reference.available("lz4 CLI", "lz4 --version") else { return }
        // Default (4 MiB linked blocks, content checksum), 64 KiB independent, block checksums
        // plus content size, and high compression.
        let variants = [("default", ""), ("b4", "-B4"), ("bx", "-B5 -BX --content-size"), ("hc", "-9 -B6 -BD")]
        for (name, input) in Corpus.inputs() {
            let inPath = try Reference.write("lz4in-\(name)", input)
            for (vname, flags) in variants {
                // lz4 1.9.4's CLI fails on -B4 for an input of exactly 65535 bytes (its own bug).
                if vname == "b4" && input.count == 65535 { continue }
                let out = Reference.path("lz4in-\(name).\(vname).lz4")
                try Reference.sh("lz4 -q -f \(flags) '\(inPath)' '\(out)'")
                let ours = try LZ4.decompressFrame(try Reference.read(out))
                expectSameBytes(ours, input, "lz4 \(vname) \(name)")
            }
        }
    }

    @Test func lz4FramesToTheCLI() throws {
        guard Reference.available("lz4 CLI", "lz4 --version") else { return }
        for (name, input) in Corpus.inputs() {
            for (i, frame) in [LZ4.compressFrame(input),
                               LZ4.compressFrame(input, blockSize: 4 << 20, contentChecksum: true, contentSize: true)].enumerated() {
                let p = try Reference.write("lz4out-\(name)-\(i).lz4", frame)
                try Reference.sh("lz4 -q -d -f '\(p)' '\(p).raw'")
                expectSameBytes(try Reference.read(p + ".raw"), input, "lz4 -d of ours \(name) #\(i)")
                // And we read our own frames.
                expectSameBytes(try LZ4.decompressFrame(frame), input, "our lz4 round trip \(name)")
            }
            if input.count > 100_000 && name.hasPrefix("zeros") {
                #expect(LZ4.compressFrame(input).count < input.count / 50)
            }
        }
    }

    @Test func lz4BlocksAgainstPython() throws {
        guard Reference.available("python lz4", "python3 -c 'import lz4.block'") else { return }
        let inputs = Corpus.inputs()
        var names: [String] = []
        for (name, input) in inputs {
            _ = try Reference.write("lz4b-\(name)", input)
            _ = try Reference.write("lz4b-\(name).ours", LZ4.compressBlock(input))
            names.append(Reference.path("lz4b-\(name)"))
        }
        try Reference.python("""
            import sys, lz4.block
            for p in sys.argv[1:]:
                data = open(p, 'rb').read()
                open(p + '.ref', 'wb').write(lz4.block.compress(data, store_size=False))
                ours = open(p + '.ours', 'rb').read()
                open(p + '.ours.dec', 'wb').write(lz4.block.decompress(ours, uncompressed_size=len(data)) if data else b'')
            """, names)
        for (name, input) in inputs {
            let p = Reference.path("lz4b-\(name)")
            let ref = try Reference.read(p + ".ref")
            expectSameBytes(try LZ4.decompressBlock(ref, uncompressedSize: input.count), input, "lz4 block from python \(name)")
            expectSameBytes(try Reference.read(p + ".ours.dec"), input, "python decoding our lz4 block \(name)")
        }
    }

    @Test func snappyAgainstPython() throws {
        guard Reference.available("python-snappy", "python3 -c 'import snappy'") else { return }
        let inputs = Corpus.inputs()
        var names: [String] = []
        for (name, input) in inputs {
            _ = try Reference.write("snappy-\(name)", input)
            _ = try Reference.write("snappy-\(name).ours", Snappy.compress(input))
            names.append(Reference.path("snappy-\(name)"))
        }
        try Reference.python("""
            import sys, snappy
            for p in sys.argv[1:]:
                data = open(p, 'rb').read()
                open(p + '.ref', 'wb').write(snappy.compress(data))
                open(p + '.ours.dec', 'wb').write(snappy.decompress(open(p + '.ours', 'rb').read()))
            """, names)
        for (name, input) in inputs {
            let p = Reference.path("snappy-\(name)")
            expectSameBytes(try Snappy.decompress(try Reference.read(p + ".ref")), input, "snappy from python \(name)")
            expectSameBytes(try Reference.read(p + ".ours.dec"), input, "python decoding our snappy \(name)")
            // Xerial framing round trip, through Kafka's entry point too.
            let framed = try KafkaCompression.compress(input, codec: .snappy)
            #expect(Snappy.isXerialFramed(framed))
            expectSameBytes(try KafkaCompression.decompress(framed, codec: .snappy, maxOutput: 1 << 30), input, "xerial \(name)")
            // Raw snappy (what librdkafka may send) through Kafka's entry point.
            expectSameBytes(try KafkaCompression.decompress(try Reference.read(p + ".ref"), codec: .snappy, maxOutput: 1 << 30),
                            input, "raw snappy via Kafka \(name)")
        }
    }

    @Test func gzipAgainstTheCLI() throws {
        guard Reference.available("gzip CLI", "gzip --version") else { return }
        for (name, input) in Corpus.inputs() {
            let p = try Reference.write("gz-\(name)", input)
            try Reference.sh("gzip -c -6 '\(p)' > '\(p).gz' && gzip -c -1 '\(p)' > '\(p).2.gz' && cat '\(p).gz' '\(p).2.gz' > '\(p).multi.gz'")
            expectSameBytes(try Gzip.decompress(try Reference.read(p + ".gz")), input, "gzip -6 \(name)")
            expectSameBytes(try Gzip.decompress(try Reference.read(p + ".multi.gz")), input + input, "gzip multi-member \(name)")
            let ours = try Gzip.compress(input)
            _ = try Reference.write("gz-\(name).ours.gz", ours)
            try Reference.sh("gzip -dc '\(p).ours.gz' > '\(p).ours'")
            expectSameBytes(try Reference.read(p + ".ours"), input, "gzip -d of ours \(name)")
        }
    }

    @Test func zstdFramesFromTheCLI() throws {
        guard Reference.available("zstd CLI", "zstd --version") else { return }
        // Levels that use different block strategies (fast, lazy, btultra), a long window,
        // no checksum, frames without a content size (from a pipe), and small blocks.
        let variants: [(String, String, Int)] = [
            ("l1", "-1", .max), ("l3", "-3", .max), ("l19", "-19", 400_000), ("long", "-5 --long=24", .max),
            ("nocheck", "-2 --no-check", .max), ("pipe", "-4 --check", .max), ("b4k", "-7 --no-content-size -B4096", 400_000),
            ("ultra", "--ultra -22", 70_000), ("neg", "--fast=3", .max),
        ]
        for (name, input) in Corpus.inputs() {
            let inPath = try Reference.write("zin-\(name)", input)
            for (vname, flags, maxSize) in variants where input.count <= maxSize {
                let out = Reference.path("zin-\(name).\(vname).zst")
                if vname == "pipe" {
                    try Reference.sh("cat '\(inPath)' | zstd -q \(flags) -c > '\(out)'")
                } else {
                    try Reference.sh("zstd -q -f \(flags) '\(inPath)' -o '\(out)'")
                }
                let frame = try Reference.read(out)
                do {
                    expectSameBytes(try Zstd.decompress(frame), input, "zstd \(vname) \(name)")
                } catch {
                    Issue.record("zstd \(vname) \(name): \(error)")
                }
            }
        }
    }

    @Test func zstdConcatenatedAndSkippableFrames() throws {
        guard Reference.available("zstd CLI", "zstd --version") else { return }
        let a = Corpus.text(50_000, seed: 21), b = Corpus.records(80_000, seed: 22)
        let pa = try Reference.write("zcat-a", a), pb = try Reference.write("zcat-b", b)
        try Reference.sh("zstd -q -f -3 '\(pa)' -o '\(pa).zst' && zstd -q -f -19 '\(pb)' -o '\(pb).zst'")
        let fa = try Reference.read(pa + ".zst"), fb = try Reference.read(pb + ".zst")
        // A skippable frame: magic 0x184D2A5?, little-endian size, user data.
        let skippable: [UInt8] = [0x53, 0x2A, 0x4D, 0x18, 5, 0, 0, 0, 1, 2, 3, 4, 5]
        let joined = skippable + fa + skippable + fb + skippable
        expectSameBytes(try Zstd.decompress(joined), a + b, "concatenated zstd frames")
        // The CLI agrees on what the concatenation means.
        let pj = try Reference.write("zcat-joined.zst", joined)
        try Reference.sh("zstd -q -d -f '\(pj)' -o '\(pj).out'")
        expectSameBytes(try Reference.read(pj + ".out"), a + b, "zstd -d of the concatenation")
    }

    @Test func zstdFramesFromPython() throws {
        guard Reference.available("python zstandard", "python3 -c 'import zstandard'") else { return }
        let inputs = Corpus.inputs(large: false)
        var names: [String] = []
        for (name, input) in inputs {
            _ = try Reference.write("pyz-\(name)", input)
            names.append(Reference.path("pyz-\(name)"))
        }
        // Streamed frames (no content size), with and without checksums, at several levels.
        try Reference.python("""
            import sys, zstandard
            for p in sys.argv[1:]:
                data = open(p, 'rb').read()
                for lvl in (1, 6, 15):
                    c = zstandard.ZstdCompressor(level=lvl, write_checksum=(lvl != 6), write_content_size=(lvl == 15))
                    co = c.compressobj()
                    out = b''
                    for i in range(0, len(data), 20000):
                        out += co.compress(data[i:i+20000])
                        if lvl == 6: out += co.flush(zstandard.COMPRESSOBJ_FLUSH_BLOCK)
                    out += co.flush()
                    open('%s.%d.zst' % (p, lvl), 'wb').write(out)
            """, names)
        for (name, input) in inputs {
            for lvl in [1, 6, 15] {
                let frame = try Reference.read(Reference.path("pyz-\(name).\(lvl).zst"))
                expectSameBytes(try Zstd.decompress(frame), input, "python zstandard level \(lvl) \(name)")
            }
        }
    }

    @Test func zstdFramesToTheCLI() throws {
        guard Reference.available("zstd CLI", "zstd --version") else { return }
        for (name, input) in Corpus.inputs() {
            let frame = Zstd.compress(input)
            let p = try Reference.write("zout-\(name).zst", frame)
            try Reference.sh("zstd -q -d -f '\(p)' -o '\(p).raw'")
            expectSameBytes(try Reference.read(p + ".raw"), input, "zstd -d of ours \(name)")
            expectSameBytes(try Zstd.decompress(frame), input, "our zstd round trip \(name)")
            // Real compression, not stored blocks: text and repeats shrink well.
            if name.hasPrefix("text") || name.hasPrefix("zeros") || name.hasPrefix("abc") || name.hasPrefix("records") {
                #expect(frame.count < input.count / 2, "\(name): \(frame.count) of \(input.count)")
            }
            if name.hasPrefix("random") { #expect(frame.count < input.count + 64) }
        }
    }

    /// Random bytes over all 256 values with a skewed distribution: nothing to match, so all of the
    /// gain is Huffman literals, and more than 128 symbols need FSE-compressed weights.
    @Test func zstdHuffmanLiteralsOverTheWholeAlphabet() throws {
        var g = SplitMix64(state: 5)
        let input = (0..<300_000).map { _ -> UInt8 in
            let r = g.next()
            return UInt8(truncatingIfNeeded: ((r & 0xFF) * ((r >> 8) & 0xFF)) >> 8)
        }
        #expect(Set(input).count > 200)
        let frame = Zstd.compress(input)
        // The byte entropy is 7.37 bits: Huffman gets close to 92%.
        #expect(frame.count < input.count * 95 / 100, "\(frame.count) of \(input.count)")
        expectSameBytes(try Zstd.decompress(frame), input, "skewed bytes round trip")
        guard Reference.available("zstd CLI", "zstd --version") else { return }
        let p = try Reference.write("zskew.zst", frame)
        try Reference.sh("zstd -q -d -f '\(p)' -o '\(p).raw'")
        expectSameBytes(try Reference.read(p + ".raw"), input, "zstd -d of skewed bytes")
        // Within 2% of the reference's level 1 on the same input.
        let q = try Reference.write("zskew", input)
        try Reference.sh("zstd -q -f -1 '\(q)' -o '\(q).zst'")
        let theirs = try Reference.read(q + ".zst").count
        #expect(frame.count <= theirs * 102 / 100, "ours \(frame.count), zstd -1 \(theirs)")
    }
}

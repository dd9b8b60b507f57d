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
}

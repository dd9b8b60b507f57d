import Codecs
import Testing

@Suite struct RoundTripTests {
    @Test(arguments: CompressionCodec.allCases)
    func kafkaRoundTrip(_ codec: CompressionCodec) throws {
        for (name, input) in Corpus.inputs(large: false) {
            let c = try KafkaCompression.compress(input, codec: codec)
            let d = try KafkaCompression.decompress(c, codec: codec, maxOutput: 1 << 24)
            expectSameBytes(d, input, "\(codec) \(name)")
        }
    }

    @Test func codecFromKafkaAttributes() {
        #expect(CompressionCodec(kafkaAttributes: 0x0014) == .zstd)
        #expect(CompressionCodec(kafkaAttributes: 0x0003) == .lz4)
        #expect(CompressionCodec(kafkaAttributes: 0x0007) == nil)
        #expect(CompressionCodec(name: "SNAPPY") == .snappy)
        #expect(CompressionCodec.gzip.rawValue == 1)
    }

    @Test func xxHashKnownValues() {
        // Values from the xxHash reference (xxhsum) for "" and "abc".
        #expect(XXHash32.hash([]) == 0x02CC_5D05)
        #expect(XXHash32.hash(Array("abc".utf8)) == 0x32D1_53FF)
        #expect(XXHash64.hash([]) == 0xEF46_DB37_51D8_E999)
        #expect(XXHash64.hash(Array("abc".utf8)) == 0x44BC_2CF5_AD77_0999)
        // Streaming in uneven pieces equals one shot.
        let data = Corpus.text(10_000, seed: 42)
        var h = XXHash64()
        var i = 0
        var step = 1
        while i < data.count {
            let j = min(data.count, i + step)
            h.update(Array(data[i..<j]))
            i = j
            step = step * 3 % 97 + 1
        }
        #expect(h.finalize() == XXHash64.hash(data))
    }

    @Test func outputBoundIsEnforced() throws {
        let input = [UInt8](repeating: 7, count: 100_000)
        for codec in [CompressionCodec.gzip, .snappy, .lz4, .zstd] {
            let c = try KafkaCompression.compress(input, codec: codec)
            #expect(throws: CodecError.self) { try KafkaCompression.decompress(c, codec: codec, maxOutput: 50_000) }
            do {
                _ = try KafkaCompression.decompress(c, codec: codec, maxOutput: 50_000)
            } catch let e as CodecError {
                #expect(e.code == .outputTooLarge, "\(codec): \(e)")
            }
        }
        let block = LZ4.compressBlock(input)
        #expect(throws: CodecError.self) { try LZ4.decompressBlock(block, uncompressedSize: 100_000, maxOutput: 1000) }
        // A declared size the input could never produce is refused before allocating.
        #expect(throws: CodecError.self) { try LZ4.decompressBlock([0x10, 0x41], uncompressedSize: 10_000_000) }
        #expect(throws: CodecError.self) { try Snappy.decompress([0xFF, 0xFF, 0xFF, 0xFF, 0x0F, 0x00]) }
    }

    @Test func gzipStreamingInPieces() throws {
        let input = Corpus.mixed(400_000, seed: 77)
        let comp = try GzipCompressor(level: 6)
        var gz: [UInt8] = []
        for start in stride(from: 0, to: input.count, by: 33_333) {
            gz += try comp.update(Array(input[start..<min(input.count, start + 33_333)]))
        }
        gz += try comp.finish()
        let member2 = try Gzip.compress(Array("tail".utf8))
        let all = gz + member2
        let d = try GzipDecompressor()
        var out: [UInt8] = []
        for start in stride(from: 0, to: all.count, by: 1000) {
            out += try d.update(Array(all[start..<min(all.count, start + 1000)]))
        }
        try d.finish()
        expectSameBytes(out, input + Array("tail".utf8), "streamed gzip")
        // Stopping in the middle of a member is an error at finish.
        let d2 = try GzipDecompressor()
        _ = try d2.update(Array(gz[0..<(gz.count / 2)]))
        #expect(throws: CodecError.self) { try d2.finish() }
    }

    /// The xerial framing as snappy-java's SnappyOutputStream writes it: magic, version 1,
    /// compatible version 1, then big-endian (length, raw block) pairs of at most 32 KiB input.
    @Test func xerialLayout() throws {
        let input = Corpus.text(100_000, seed: 31)
        let framed = Snappy.compressXerial(input)
        #expect(Array(framed[0..<16]) == [0x82, 0x53, 0x4E, 0x41, 0x50, 0x50, 0x59, 0x00, 0, 0, 0, 1, 0, 0, 0, 1])
        var pos = 16
        var blocks = 0
        var rebuilt: [UInt8] = []
        while pos < framed.count {
            let len = Int(framed[pos]) << 24 | Int(framed[pos + 1]) << 16 | Int(framed[pos + 2]) << 8 | Int(framed[pos + 3])
            let raw = Array(framed[(pos + 4)..<(pos + 4 + len)])
            let block = try Snappy.decompress(raw)
            #expect(block.count <= 32 * 1024)
            rebuilt += block
            pos += 4 + len
            blocks += 1
        }
        #expect(blocks == 4)
        expectSameBytes(rebuilt, input, "xerial blocks")
        // Hand-framed blocks (as another producer would cut them) decode too.
        var manual = Array(framed[0..<16])
        for chunk in [Array(input[0..<10]), Array(input[10..<70_000]), []] {
            let raw = Snappy.compress(chunk)
            let c = UInt32(raw.count)
            manual += [UInt8(c >> 24), UInt8((c >> 16) & 0xFF), UInt8((c >> 8) & 0xFF), UInt8(c & 0xFF)] + raw
        }
        expectSameBytes(try Snappy.decompressXerial(manual), Array(input[0..<70_000]), "hand-framed xerial")
        #expect(throws: CodecError.self) { try Snappy.decompressXerial(manual + [0, 0, 1]) }
    }

    /// ClickHouse's native protocol: blocks come from and go to raw buffers, sizes carried apart.
    @Test func clickHouseBlockAPIs() throws {
        for (name, input) in Corpus.inputs(large: false) {
            let block = input.withUnsafeBytes { LZ4.compressBlock($0) }
            #expect(block == LZ4.compressBlock(input))
            let back = try block.withUnsafeBytes { try LZ4.decompressBlock($0, uncompressedSize: input.count) }
            expectSameBytes(back, input, "lz4 block \(name)")
            // A wrong declared size is an error, not a short or padded result.
            if !input.isEmpty {
                #expect(throws: CodecError.self) { try LZ4.decompressBlock(block, uncompressedSize: input.count + 1) }
                #expect(throws: CodecError.self) { try LZ4.decompressBlock(block, uncompressedSize: input.count - 1) }
            }
            let frame = input.withUnsafeBytes { Zstd.compress($0) }
            let out = try frame.withUnsafeBytes { try Zstd.decompress($0) }
            expectSameBytes(out, input, "zstd raw-buffer \(name)")
        }
    }
}

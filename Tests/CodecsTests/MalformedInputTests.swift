import Codecs
import Foundation
import PipeTestSupport
import Testing

/// Truncated and corrupted inputs must give a CodecError or correct output: never a trap, an
/// over-read or an unbounded allocation (the debug build traps on overflow and bad indices).
@Suite struct MalformedInputTests {
    typealias Decoder = ([UInt8]) throws -> [UInt8]

    static let sample = Corpus.mixed(3000, seed: 99) + Corpus.text(2000, seed: 98)

    /// Valid compressed samples: ours, and the reference tools' when they are installed.
    static func samples(_ codec: String) throws -> [[UInt8]] {
        let s = sample
        var list: [[UInt8]]
        switch codec {
        case "zstd": list = [Zstd.compress(s), Zstd.compress(Array(s.prefix(300)))]
        case "lz4": list = [LZ4.compressFrame(s, contentChecksum: true, contentSize: true), LZ4.compressFrame(s)]
        case "snappy": list = [Snappy.compress(s), Snappy.compressXerial(s, blockSize: 1000)]
        default: list = [try Gzip.compress(s)]
        }
        let p = try Reference.write("malformed-\(codec)", s)
        let tools: [(String, String)] = switch codec {
        case "zstd": [("zstd -q -f -19 --check '\(p)' -o '\(p).1'", ".1"), ("zstd -q -f -1 '\(p)' -o '\(p).2'", ".2"),
                      ("head -c 700 '\(p)' | zstd -q -c -6 > '\(p).3'", ".3")]
        case "lz4": [("lz4 -q -f -BX -BD '\(p)' '\(p).1'", ".1")]
        case "gzip": [("gzip -c -9 '\(p)' > '\(p).1'", ".1")]
        default: []
        }
        for (cmd, suffix) in tools {
            if let r = try? Run.shell(cmd), r.status == 0, let b = try? Reference.read(p + suffix) { list.append(b) }
        }
        return list
    }

    static func decoder(_ codec: String) -> Decoder {
        switch codec {
        case "zstd": { try Zstd.decompress($0, maxOutput: 1 << 20) }
        case "lz4": { try LZ4.decompressFrame($0, maxOutput: 1 << 20) }
        case "snappy": { try Snappy.decompressAny($0, maxOutput: 1 << 20) }
        default: { try Gzip.decompress($0, maxOutput: 1 << 20) }
        }
    }

    @Test(arguments: ["zstd", "lz4", "snappy", "gzip"])
    func truncationsAreErrors(_ codec: String) throws {
        let decode = Self.decoder(codec)
        for frame in try Self.samples(codec) {
            let full = try decode(frame)
            for cut in 0..<frame.count {
                do {
                    let out = try decode(Array(frame[0..<cut]))
                    // Only a prefix that is itself complete (e.g. whole xerial blocks) may decode.
                    #expect(Array(full.prefix(out.count)) == out, "\(codec) cut at \(cut) decoded wrong bytes")
                } catch is CodecError {
                } catch {
                    Issue.record("\(codec) cut at \(cut): unexpected error \(error)")
                }
            }
        }
    }

    @Test(arguments: ["zstd", "lz4", "snappy", "gzip"])
    func corruptionsAreErrorsOrBounded(_ codec: String) throws {
        let decode = Self.decoder(codec)
        var g = SplitMix64(state: 7)
        for frame in try Self.samples(codec) {
            for i in 0..<frame.count {
                for mask: UInt8 in [0xFF, 1 << UInt8(g.next() % 8)] {
                    var bad = frame
                    bad[i] ^= mask
                    do {
                        let out = try decode(bad)
                        #expect(out.count <= 1 << 20)
                    } catch is CodecError {
                    } catch {
                        Issue.record("\(codec) flip at \(i): unexpected error \(error)")
                    }
                }
            }
            // Random garbage appended and random bytes overwritten in runs.
            for _ in 0..<200 {
                var bad = frame
                let at = Int(g.next() % UInt64(bad.count))
                let len = Int(g.next() % 16) + 1
                for k in at..<min(bad.count, at + len) { bad[k] = UInt8(truncatingIfNeeded: g.next()) }
                _ = try? decode(bad)
            }
        }
    }

    @Test func checksumsAreChecked() throws {
        let s = Self.sample
        var z = Zstd.compress(s)
        z[z.count - 1] ^= 1
        #expect { try Zstd.decompress(z) } throws: { ($0 as? CodecError)?.code == .checksumMismatch }
        var l = LZ4.compressFrame(s, contentChecksum: true)
        l[l.count - 2] ^= 1
        #expect { try LZ4.decompressFrame(l) } throws: { ($0 as? CodecError)?.code == .checksumMismatch }
        var g = try Gzip.compress(s)
        g[g.count - 6] ^= 1  // inside the CRC-32
        #expect { try Gzip.decompress(g) } throws: { ($0 as? CodecError)?.code == .checksumMismatch }
    }

    @Test func hostileHeadersDoNotAllocate() throws {
        // zstd frame declaring 2^40 bytes of content.
        let zstdHuge: [UInt8] = [0x28, 0xB5, 0x2F, 0xFD, 0xE4, 0x50, 0, 0, 0, 0, 0x01, 0, 0, 0, 0x01, 0, 0]
        #expect { try Zstd.decompress(zstdHuge) } throws: { ($0 as? CodecError)?.code == .outputTooLarge }
        // An RLE block repeated past the bound.
        var rle: [UInt8] = [0x28, 0xB5, 0x2F, 0xFD, 0x00, 0x58]  // no size, window 2^21
        for k in 0..<40 {
            let header = UInt32(100_000) << 3 | 1 << 1 | (k == 39 ? 1 : 0)
            rle += [UInt8(header & 0xFF), UInt8((header >> 8) & 0xFF), UInt8(header >> 16), 0x41]
        }
        #expect { try Zstd.decompress(rle, maxOutput: 1 << 20) } throws: { ($0 as? CodecError)?.code == .outputTooLarge }
        #expect(try Zstd.decompress(rle, maxOutput: 8 << 20).count == 4_000_000)
        // LZ4 frame declaring a content size past the bound.
        var lz = LZ4.compressFrame([1, 2, 3], contentSize: true)
        lz.withUnsafeMutableBufferPointer { $0[6 + 5] = 0x40 }  // content size byte 5 -> 2^46 + 3
        #expect(throws: CodecError.self) { try LZ4.decompressFrame(lz) }
        // Snappy declaring 4 GiB.
        #expect(throws: CodecError.self) { try Snappy.decompress([0xFF, 0xFF, 0xFF, 0xFF, 0x0F, 0x00, 0x00]) }
    }
}

import Foundation
import PipeTestSupport
import Testing
@testable import ClickHouseNative

private func seed(_ name: String) throws -> [UInt8] {
    let url = TestEnv.repoRoot.appendingPathComponent("Fuzz/corpus/FuzzClickHouseBlock/\(name)")
    return Array(try Data(contentsOf: url))
}

/// The fuzz seeds are well-formed packets: a plain and a compressed Data block with
/// UInt32, Nullable(String) and Array(LowCardinality(String)) columns (the LowCardinality
/// prefix comes before the array offsets), and an exception chain.
@Test func decodesHandBuiltServerPackets() throws {
    for (name, compressed) in [("data_plain", false), ("data_compressed", true)] {
        let bytes = Array(try seed(name).dropFirst())
        var r = CHReader(bytes)
        let p = try ServerPacketDecoder.decode(&r, revision: 54412, compressed: compressed)
        #expect(r.remaining == 0)
        guard case .data(let b) = p else { Issue.record("not data"); continue }
        #expect(b.rowCount == 2)
        #expect(b.columns.map(\.values) == [
            [.uint(1), .uint(2)],
            [.string("x"), .null],
            [.array([.string("p")]), .array([.string("q")])],
        ])
        // Truncated anywhere: a truncated error, never a crash.
        for cut in stride(from: 0, to: bytes.count, by: 3) {
            var t = CHReader(Array(bytes.prefix(cut)))
            #expect(throws: ClickHouseError.self) { try ServerPacketDecoder.decode(&t, revision: 54412, compressed: compressed) }
        }
    }
    var r = CHReader(Array(try seed("exception").dropFirst()))
    guard case .exception(let e) = try ServerPacketDecoder.decode(&r, revision: 54412, compressed: false) else {
        Issue.record("not an exception"); return
    }
    #expect(e.code == 62 && e.name == "DB::Exception" && e.message == "Syntax error" && e.nested.count == 1)
}

/// A block we encode decodes to the same columns (client Data and server Data share the layout).
@Test func blockEncodeDecodeRoundTrip() throws {
    let cols = try [
        ClickHouseColumn(name: "a", typeName: "Array(LowCardinality(Nullable(String)))",
                         values: [.array([.null, .string("z")]), .array([]), .array([.string("z")])]),
        ClickHouseColumn(name: "t", typeName: "Tuple(Int8, Decimal(38, 4), Nullable(UUID))",
                         values: [.tuple([.int(-1), .decimal(Int128.max / 7, scale: 4), .null]),
                                  .tuple([.int(0), .decimal(-5, scale: 4), .uuid(Array(0..<16))]),
                                  .tuple([.int(1), .decimal(0, scale: 4), .null])]),
        ClickHouseColumn(name: "e", typeName: "Enum16('big' = 1000, 'neg' = -5)",
                         values: [.enumValue("neg", -5), .enumValue("big", 1000), .enumValue("big", 1000)]),
    ]
    var w = CHWriter()
    try BlockCodec.write(ClickHouseBlock(columns: cols, rowCount: 3), &w)
    var r = CHReader(w.bytes)
    let back = try BlockCodec.read(&r)
    #expect(r.remaining == 0)
    #expect(back.columns == cols)
}

@Test func queryPacketAdaptsToRevision() throws {
    let old = try ClientPacket.query("SELECT 1", queryID: "q", settings: [("max_threads", "2")], revision: 54412,
                                     compression: true, user: "u")
    let new = try ClientPacket.query("SELECT 1", queryID: "q", settings: [("max_threads", "2")], revision: 54429,
                                     compression: true, user: "u")
    // 54429 serializes settings as strings with flags: "max_threads", flags 1, "2" vs varint 2.
    #expect(new.count == old.count + 2)
    // ... end of settings, stage Complete (2), compression on (1), the query text.
    #expect(Array(old.suffix(12)) == [0, 2, 1, 8] + Array("SELECT 1".utf8))
    #expect(Array(new.suffix(12)) == [0, 2, 1, 8] + Array("SELECT 1".utf8))
}

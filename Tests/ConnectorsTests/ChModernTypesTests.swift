import ClickHouseNative
@testable import Connectors
import Foundation
import PipeTestSupport
import Testing
import WireCore

/// ch.Sink's conversions into the column types newer than the ClickHouse 18.16 server here,
/// checked by a modern ClickHouse engine (chdb, 26.x): JSON records go through ch.Sink's row
/// reader and column builders, the block is written as a `Native` file, and chdb reads it.
struct ChModernTypesTests {
    static let schema = ChTableSchema(database: "db", table: "t", columns: [
        ("i128", "Int128"), ("u256", "UInt256"), ("d", "Decimal(50, 4)"), ("b", "Bool"), ("d32", "Date32"),
        ("t64", "DateTime64(3, 'UTC')"), ("ip4", "IPv4"), ("ip6", "IPv6"), ("m", "Map(String, UInt32)"),
        ("nt", "Tuple(a UInt8, s String)"), ("tags", "Array(String)"), ("n", "Nullable(Int256)"),
    ].map { ChSinkColumn(name: $0.0, type: try! ClickHouseType.parse($0.1), hasDefaultExpression: false) }, computed: [])

    static let records = [
        #"{"i128":-170141183460469231731687303715884105728,"u256":"115792089237316195423570985008687907853269984665640564039457584007913129639935","d":"-12.5","b":true,"d32":"1900-01-01","t64":"2024-06-01T10:00:00.123Z","ip4":"10.1.2.3","ip6":"2001:db8::ff00:42:8329","m":{"a":1,"b":2},"nt":{"a":5,"s":"x"},"tags":["p","q"],"n":null}"#,
        #"{"i128":"42","u256":0,"d":0.0001,"b":"false","d32":"2299-12-31","t64":1717236000999,"ip4":"255.255.255.255","ip6":"::1","m":{},"nt":[7,"y"],"tags":[],"n":"-1"}"#,
        #"{"i128":1e3,"b":0,"t64":"1969-12-31 23:59:59.5","ip6":"1.2.3.4"}"#,
    ]

    static let expected = """
        -170141183460469231731687303715884105728\t115792089237316195423570985008687907853269984665640564039457584007913129639935\t-12.5\ttrue\t1900-01-01\t2024-06-01 10:00:00.123\t10.1.2.3\t2001:db8::ff00:42:8329\t{'a':1,'b':2}\t(5,'x')\t['p','q']\t\\N
        42\t0\t0.0001\tfalse\t2299-12-31\t2024-06-01 10:00:00.999\t255.255.255.255\t::1\t{}\t(7,'y')\t[]\t-1
        1000\t0\t0\tfalse\t1970-01-01\t1969-12-31 23:59:59.500\t0.0.0.0\t::ffff:1.2.3.4\t{}\t(0,'')\t[]\t\\N

        """

    @Test func modernColumnsAsChdbReadsThem() async throws {
        var acc = ChRowAccumulator(schema: Self.schema, capacity: 4)
        var fast = ChFastJSONRow(schema: Self.schema, converter: ChJSONConverter(timeFormat: .timestampMilli))
        var cells: [ChCell] = []
        for text in Self.records {
            let bytes = Array(text.utf8)
            let done = bytes.withUnsafeBytes { p -> Bool in
                guard case .row = fast.read(p, into: &cells) else { return false }
                acc.add(cells, p, ranges: fast.ranges)
                return true
            }
            if !done {
                guard case .object(let fields) = try JSONValue.parse(text) else { Issue.record("not an object"); return }
                var row = [ClickHouseValue?](repeating: nil, count: Self.schema.columns.count)
                for (k, v) in fields {
                    let i = try #require(Self.schema.column(named: k))
                    row[i] = try ChJSONConverter(timeFormat: .timestampMilli).convert(v, to: Self.schema.columns[i].type)
                }
                acc.add(row)
            }
        }
        let blocks = try acc.blocks()
        #expect(blocks.count == 1)
        let block = ClickHouseBlock(columns: try blocks[0].columns.map { try $0.decoded() }, rowCount: blocks[0].rowCount)
        let file = FileManager.default.temporaryDirectory.appendingPathComponent(TestEnv.unique("kp-chmodern") + ".native")
        defer { try? FileManager.default.removeItem(at: file) }
        try Data(try ClickHouseNativeFormat.encode([block])).write(to: file)

        let python = TestEnv.value("KP_PYTHON") ?? "python3"
        let script = """
            import sys
            try:
                import chdb
            except ImportError:
                sys.exit(77)
            sys.stdout.write(chdb.query("SELECT * FROM file('" + sys.argv[1] + "', Native)", 'TSV').bytes().decode())
            """
        let r = try await Run.program("/usr/bin/env", [python, "-c", script, file.path])
        if r.status == 77 {
            let message = "chdb is not installed for \(python) (pip install chdb-core; CI: KP_WITH_CHDB=1 scripts/install-deps.sh)"
            if TestEnv.isCI { Issue.record(Comment(rawValue: message)) } else { print("skipping: \(message)") }
            return
        }
        #expect(r.status == 0, "chdb: \(r.stderr)")
        #expect(r.stdout == Self.expected)
    }
}

import ClickHouseNative
#if canImport(Glibc)
import Glibc
#endif

/// `ch-insert --addr H:P --table T --rows N [--block B] [--user U] [--password P] [--native-file F]`
/// Inserts N generated rows (UInt64, String, DateTime, Float64, Nullable(String)) into T with our
/// native client, in blocks of B (default 1,000,000) built with `ClickHouseColumnBuilder`. With
/// `--native-file F` it writes the same rows to F in ClickHouse's Native format instead (the input
/// of `clickhouse-client --query "INSERT ... FORMAT Native"`). Prints `DONE rows seconds`.
func chInsert(_ args: [String]) async throws -> Int32 {
    let a = Arguments(args)
    guard let addr = a.options["addr"], let table = a.options["table"] else {
        writeStderr("ch-insert --addr H:P --table T --rows N [--block B] [--user U] [--password P] [--native-file F]\n")
        return 2
    }
    let rows = a.int("rows", default: 10_000_000)
    let blockRows = a.int("block", default: 1_000_000)
    let parts = addr.split(separator: ":")
    let start = ContinuousClock.now
    var connection: ClickHouseConnection?
    var file: UnsafeMutablePointer<FILE>?
    if let path = a.options["native-file"] {
        guard let f = fopen(path, "wb") else { writeStderr("cannot write \(path)\n"); return 1 }
        file = f
    } else {
        connection = try await ClickHouseConnection.connect(ClickHouseConfig(
            host: String(parts[0]), port: parts.count > 1 ? Int(parts[1]) ?? 9000 : 9000,
            user: a.options["user"] ?? "default", password: a.options["password"] ?? ""))
    }
    var done = 0
    var text: [UInt8] = []
    while done < rows {
        let n = min(blockRows, rows - done)
        var id = ClickHouseColumnBuilder(name: "id", type: .uint64, reservingRows: n)
        var name = ClickHouseColumnBuilder(name: "name", type: .string, reservingRows: n)
        var at = ClickHouseColumnBuilder(name: "at", type: .dateTime(timezone: nil), reservingRows: n)
        var price = ClickHouseColumnBuilder(name: "price", type: .float64, reservingRows: n)
        var note = ClickHouseColumnBuilder(name: "note", type: .nullable(.string), reservingRows: n)
        for i in done..<(done + n) {
            try id.append(.uint(UInt64(i)))
            text.removeAll(keepingCapacity: true)
            text.append(contentsOf: "user-".utf8)
            text.append(contentsOf: String(i % 100_000).utf8)
            try text.withUnsafeBytes { try name.append(bytes: $0) }
            try at.append(.dateTime(UInt32(1_700_000_000 + i % 10_000_000)))
            try price.append(.float(Double(i % 10_000) / 4))
            if i % 5 == 0 {
                try note.append(.null)
            } else {
                try "lorem ipsum dolor".utf8.withContiguousStorageIfAvailable { try note.append(bytes: UnsafeRawBufferPointer($0)) }
            }
        }
        let block = try ClickHouseEncodedBlock(columns: [id.finish(), name.finish(), at.finish(), price.finish(), note.finish()])
        if let connection {
            try await connection.insert(into: table, block: block)
        } else if let file {
            let bytes = ClickHouseNativeFormat.encode([block])
            _ = bytes.withUnsafeBytes { fwrite($0.baseAddress, 1, $0.count, file) }
        }
        done += n
    }
    if let file { fclose(file) }
    await connection?.close()
    let took = ContinuousClock.now - start
    let seconds = Double(took.components.seconds) + Double(took.components.attoseconds) / 1e18
    writeStdout("DONE \(rows) \(seconds)\n")
    return 0
}

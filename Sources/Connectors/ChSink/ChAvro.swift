// Raw Avro values (SPEC §5 `serde:format: avro`, one schema per topic from `serde:schemas`) →
// rows: the top-level record's fields fill the columns of the same name (case-insensitively), with
// the conversions of the JSON mapping plus Avro's own types (bytes, fixed, logical dates, times,
// timestamps, decimals, UUIDs) read exactly.
internal import Avro
internal import ClickHouseNative
internal import HTTPWire
internal import Logging
internal import NIOCore
internal import PipeConfig
internal import PipeTLS
internal import WireCore
#if canImport(Glibc)
internal import Glibc
#endif

struct ChAvroSchema: Sendable {
    let schema: AvroSchema
    let json: ChJSONConverter

    func row(_ value: ByteBuffer, schema table: ChTableSchema) throws(ChRecordError) -> [ClickHouseValue?] {
        let decoded: AvroValue
        do {
            decoded = try AvroDecoder.decode(value.readableBytesView, schema: schema)
        } catch {
            throw ChRecordError(column: nil, message: "the value is not Avro of the topic's schema (\(error.message))")
        }
        guard case .record(let fields) = decoded else {
            throw ChRecordError(column: nil, message: "the Avro schema of the topic is not a record")
        }
        var row = [ClickHouseValue?](repeating: nil, count: table.columns.count)
        for f in fields {
            guard let i = table.column(named: f.name) else { continue }
            let c = table.columns[i]
            do {
                row[i] = try convert(f.value, to: c.type)
            } catch {
                throw ChRecordError(column: c.name, message: "\(error.description) (Avro value \(ChScalar.quote(Self.json(f.value).jsonString())))")
            }
        }
        return row
    }

    func convert(_ v: AvroValue, to t: ClickHouseType) throws(ChConversionError) -> ClickHouseValue {
        if let w = t.unwrap(isNull: v == .null) {
            switch w {
            case .value(let x): return x
            case .convert(let inner): return try convert(v, to: inner)
            }
        }
        switch (v, t) {
        case (.timestampMillis(let x), .dateTime), (.localTimestampMillis(let x), .dateTime):
            return try ChScalar.dateTimeValue(seconds: ChScalar.floorDiv(x, 1000), String(x))
        case (.timestampMicros(let x), .dateTime), (.localTimestampMicros(let x), .dateTime):
            return try ChScalar.dateTimeValue(seconds: ChScalar.floorDiv(x, 1_000_000), String(x))
        case (.timestampMillis(let x), .date), (.localTimestampMillis(let x), .date):
            return try ChScalar.dateValue(days: ChScalar.floorDiv(x, 86_400_000), String(x))
        case (.timestampMicros(let x), .date), (.localTimestampMicros(let x), .date):
            return try ChScalar.dateValue(days: ChScalar.floorDiv(x, 86_400_000_000), String(x))
        case (.date(let d), .date):
            return try ChScalar.dateValue(days: Int64(d), String(d))
        case (.date(let d), .dateTime):
            return try ChScalar.dateTimeValue(seconds: Int64(d) * 86400, String(d))
        case (.decimal(let u, let s), .decimal(let p, let scale)):
            var x = u
            if scale >= s {
                guard let m = ChScalar.pow10(scale - s) else { throw ChConversionError("decimal out of range for \(t)") }
                let (r, o) = u.multipliedReportingOverflow(by: m)
                guard !o else { throw ChConversionError("decimal out of range for \(t)") }
                x = r
            } else {
                guard let m = ChScalar.pow10(s - scale), u % m == 0 else {
                    throw ChConversionError("\(Self.decimalText(u, s)) has more than \(scale) fractional digits for \(t)")
                }
                x = u / m
            }
            guard let limit = ChScalar.pow10(p), x > -limit, x < limit else { throw ChConversionError("\(Self.decimalText(u, s)) does not fit \(t)") }
            return .decimal(x, scale: scale)
        case (.bytes(let b), .string), (.fixed(let b), .string):
            return .bytes(b)
        case (.bytes(let b), .fixedString(let n)), (.fixed(let b), .fixedString(let n)):
            guard b.count <= n else { throw ChConversionError("\(b.count) bytes do not fit \(t)") }
            return .bytes(b)
        case (.bytes(let b), .uuid), (.fixed(let b), .uuid):
            guard b.count == 16 else { throw ChConversionError("\(b.count) bytes are not a UUID") }
            return .uuid(b)
        case (.array(let items), .array(let inner)):
            var out: [ClickHouseValue] = []
            out.reserveCapacity(items.count)
            for (k, item) in items.enumerated() {
                do { out.append(try convert(item, to: inner)) } catch { throw ChConversionError("element \(k): \(error)") }
            }
            return .array(out)
        case (.record(let fields), .tuple(let ts)):
            guard fields.count == ts.count else { throw ChConversionError("\(fields.count) fields for \(t), which has \(ts.count)") }
            var out: [ClickHouseValue] = []
            for k in 0..<ts.count {
                do { out.append(try convert(fields[k].value, to: ts[k])) } catch { throw ChConversionError("element \(k + 1): \(error)") }
            }
            return .tuple(out)
        case (.bytes, _), (.fixed, _):
            throw ChConversionError("Avro bytes cannot be stored in \(t)")
        default:
            // Everything else reads as its JSON form does.
            return try json.convert(Self.json(v), to: t)
        }
    }

    static func decimalText(_ u: Int128, _ scale: Int) -> String {
        var digits = String(u.magnitude)
        if scale > 0 {
            while digits.count <= scale { digits = "0" + digits }
            digits.insert(".", at: digits.index(digits.endIndex, offsetBy: -scale))
        }
        return (u < 0 ? "-" : "") + digits
    }

    /// The JSON form of an Avro value (as a String column receives it).
    static func json(_ v: AvroValue) -> JSONValue {
        switch v {
        case .null: return .null
        case .boolean(let b): return .bool(b)
        case .int(let x): return .number(String(x))
        case .long(let x): return .number(String(x))
        case .float(let x): return x.isFinite ? .number(String(describing: x)) : .string(x.isNaN ? "NaN" : (x < 0 ? "-Infinity" : "Infinity"))
        case .double(let x): return x.isFinite ? .number(String(describing: x)) : .string(x.isNaN ? "NaN" : (x < 0 ? "-Infinity" : "Infinity"))
        case .bytes(let b), .fixed(let b): return .string(Base64.encode(b))
        case .string(let s), .enumSymbol(let s), .uuid(let s): return .string(s)
        case .record(let fields): return .object(fields.map { ($0.name, json($0.value)) })
        case .array(let items): return .array(items.map(json))
        case .map(let entries): return .object(entries.map { ($0.0, json($0.1)) })
        case .date(let d): return .number(String(d))
        case .timeMillis(let x): return .number(String(x))
        case .timeMicros(let x), .timestampMillis(let x), .timestampMicros(let x),
             .localTimestampMillis(let x), .localTimestampMicros(let x): return .number(String(x))
        case .decimal(let u, let s): return .string(decimalText(u, s))
        }
    }
}

extension ChAvroSchema {
    /// The schema of every topic, read from `file://` paths or fetched over `http(s)://`.
    static func loadAll(_ serde: SerdeSettings, topics: [String], logger: Logger) async throws -> [String: ChAvroSchema] {
        guard serde.format == .avro else { return [:] }
        var out: [String: ChAvroSchema] = [:]
        let converter = ChJSONConverter(timeFormat: serde.timeFormat)
        for source in serde.schemas {
            let text = try await fetch(source.url, topic: source.topic, logger: logger)
            do {
                out[source.topic] = ChAvroSchema(schema: try AvroSchema.parse(json: text), json: converter)
            } catch {
                throw ConnectorError(.configuration, "ch.Sink: serde:schemas \(source.topic) (\(source.url)): \(error)")
            }
        }
        for t in topics where out[t] == nil {
            throw ConnectorError(.configuration, "ch.Sink: serde:schemas has no Avro schema for topic \(t)")
        }
        return out
    }

    static func fetch(_ url: String, topic: String, logger: Logger) async throws -> String {
        if url.hasPrefix("file://") {
            let path = String(url.dropFirst("file://".count))
            guard let bytes = readFile(path) else {
                throw ConnectorError(.configuration, "ch.Sink: serde:schemas \(topic): cannot read \(path)")
            }
            return String(decoding: bytes, as: UTF8.self)
        }
        let https = url.hasPrefix("https://")
        guard https || url.hasPrefix("http://") else {
            throw ConnectorError(.configuration, "ch.Sink: serde:schemas \(topic): \(url) is not a file://, http:// or https:// URL")
        }
        let rest = url.dropFirst(https ? 8 : 7)
        let slash = rest.firstIndex(of: "/") ?? rest.endIndex
        let authority = String(rest[..<slash])
        let target = slash == rest.endIndex ? "/" : String(rest[slash...])
        var host = authority
        var port = https ? 443 : 80
        if let colon = authority.lastIndex(of: ":"), !authority.hasSuffix("]"), let p = Int(authority[authority.index(after: colon)...]) {
            host = String(authority[..<colon])
            port = p
        }
        if host.hasPrefix("[") && host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        let client = try HTTPClient(configuration: .init(host: host, port: port, tls: https ? TLSConfiguration() : nil,
                                                         requestTimeout: .seconds(30)), logger: logger)
        defer { Task { await client.shutdown() } }
        let response: HTTPResponse
        do {
            response = try await client.execute(HTTPRequestHead(method: "GET", target: target))
        } catch {
            throw ConnectorError(.configuration, "ch.Sink: serde:schemas \(topic): fetching \(url) failed", cause: error)
        }
        guard response.head.status == 200 else {
            throw ConnectorError(.configuration, "ch.Sink: serde:schemas \(topic): \(url) answered \(response.head.status)")
        }
        return String(decoding: response.body, as: UTF8.self)
    }

    static func readFile(_ path: String) -> [UInt8]? {
        try? LocalFile.bytes(path, limit: 16 << 20)
    }
}

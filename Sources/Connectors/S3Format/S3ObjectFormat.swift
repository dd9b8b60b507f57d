// The object layout shared by s3.Sink and s3.Backup (SPEC §6):
// key `{topic}/{YYYY-MM-DD HH:MM:SS}/{partition}/{first:018}-{last:018}.gz`, content the gzip of
// JSON lines `{"offset":…,"key":…,"value":…,"headers":[{"key":…,"value":…}],"timestamp":…}`.
internal import Codecs
public import KafkaWire
internal import NIOCore
public import WireCore

/// The name of one object: topic, time bucket (UTC seconds), partition and offset range.
public struct S3ObjectKey: Sendable, Hashable, CustomStringConvertible {
    public var topic: String
    /// The start of the time bucket, seconds since 1970 (UTC).
    public var bucketTime: Int64
    public var partition: Int32
    public var first: Int64
    public var last: Int64

    public init(topic: String, bucketTime: Int64, partition: Int32, first: Int64, last: Int64) {
        self.topic = topic
        self.bucketTime = bucketTime
        self.partition = partition
        self.first = first
        self.last = last
    }

    /// `{topic}/{YYYY-MM-DD HH:MM:SS}/{partition}/`: the objects of one partition and bucket.
    public var prefix: String { Self.prefix(topic: topic, bucketTime: bucketTime, partition: partition) }

    public static func prefix(topic: String, bucketTime: Int64, partition: Int32) -> String {
        "\(topic)/\(formatTime(bucketTime))/\(partition)/"
    }

    public var description: String { prefix + Self.pad18(first) + "-" + Self.pad18(last) + ".gz" }

    /// Reads a key written by `description`; nil for anything else (other files in the bucket).
    public init?(parsing key: String) {
        let parts = key.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 4, !parts[0].isEmpty, let time = Self.parseTime(parts[1]),
              let partition = Int32(parts[2]), partition >= 0 else { return nil }
        let file = parts[3]
        guard file.hasSuffix(".gz") else { return nil }
        let range = file.dropLast(3).split(separator: "-", omittingEmptySubsequences: false)
        guard range.count == 2, let first = Int64(range[0]), let last = Int64(range[1]), first >= 0, last >= first else {
            return nil
        }
        self.init(topic: String(parts[0]), bucketTime: time, partition: partition, first: first, last: last)
    }

    static func pad18(_ v: Int64) -> String {
        let s = String(v)
        return s.count >= 18 ? s : String(repeating: "0", count: 18 - s.count) + s
    }

    /// The start of the bucket of `timestampMs` for an interval of `intervalSeconds` (≥ 1).
    public static func bucket(timestampMs: Int64, intervalSeconds: Int64) -> Int64 {
        let seconds = timestampMs >= 0 ? timestampMs / 1000 : (timestampMs - 999) / 1000
        let i = max(1, intervalSeconds)
        var r = seconds % i
        if r < 0 { r += i }
        return seconds - r
    }

    /// `YYYY-MM-DD HH:MM:SS` (UTC).
    public static func formatTime(_ seconds: Int64) -> String {
        var days = seconds / 86400
        var rem = seconds % 86400
        if rem < 0 { rem += 86400; days -= 1 }
        let (y, month, day) = CivilTime.date(daysSince1970: days)
        let m = Int64(month), d = Int64(day)
        func two(_ v: Int64) -> String { v < 10 ? "0\(v)" : "\(v)" }
        var year = String(y)
        if year.count < 4 { year = String(repeating: "0", count: 4 - year.count) + year }
        return "\(year)-\(two(m))-\(two(d)) \(two(rem / 3600)):\(two(rem % 3600 / 60)):\(two(rem % 60))"
    }

    /// Reads `YYYY-MM-DD HH:MM:SS`.
    public static func parseTime(_ text: Substring) -> Int64? {
        let c = Array(text.utf8)
        guard c.count == 19, c[4] == 0x2D, c[7] == 0x2D, c[10] == 0x20, c[13] == 0x3A, c[16] == 0x3A else { return nil }
        func num(_ a: Int, _ b: Int) -> Int64? {
            var v: Int64 = 0
            for k in a..<b {
                guard c[k] >= 0x30 && c[k] <= 0x39 else { return nil }
                v = v * 10 + Int64(c[k] - 0x30)
            }
            return v
        }
        guard let y = num(0, 4), let mo = num(5, 7), let d = num(8, 10), let h = num(11, 13), let mi = num(14, 16),
              let s = num(17, 19), (1...12).contains(mo), (1...31).contains(d), h < 24, mi < 60, s < 60 else { return nil }
        let yy = mo <= 2 ? y - 1 : y
        let era = (yy >= 0 ? yy : yy - 399) / 400
        let yoe = yy - era * 400
        let doy = (153 * (mo > 2 ? mo - 3 : mo + 9) + 2) / 5 + d - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        let days = era * 146_097 + doe - 719_468
        return days * 86400 + h * 3600 + mi * 60 + s
    }
}

/// One line of an object: a record as stored. `timestamp` is nil in objects of the old tool.
public struct S3Row: Sendable, Equatable {
    public var offset: Int64
    public var key: [UInt8]?
    public var value: [UInt8]?
    public var headers: [Header]
    public var timestamp: Int64?

    public struct Header: Sendable, Equatable {
        public var key: String
        public var value: [UInt8]?
        public init(key: String, value: [UInt8]?) {
            self.key = key
            self.value = value
        }
    }

    public init(offset: Int64, key: [UInt8]?, value: [UInt8]?, headers: [Header] = [], timestamp: Int64?) {
        self.offset = offset
        self.key = key
        self.value = value
        self.headers = headers
        self.timestamp = timestamp
    }
}

/// Why a line or an object could not be read (the caller adds the object key).
public struct S3FormatError: Error, CustomStringConvertible, Sendable {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

public enum S3LineFormat {
    /// Appends the JSON line of `record` (with its `\n`).
    public static func append(_ record: KafkaRecord, to w: inout JSONWriter) {
        w.beginObject()
        w.key("offset")
        w.int(record.offset)
        bytesField("key", record.key, &w)
        bytesField("value", record.value, &w)
        w.key("headers")
        w.beginArray()
        for h in record.headers {
            w.beginObject()
            w.key("key")
            w.string(h.key)
            bytesField("value", h.value, &w)
            w.endObject()
        }
        w.endArray()
        w.key("timestamp")
        w.int(record.timestamp)
        w.endObject()
        w.raw([0x0A])
    }

    /// `"name":"text"` for UTF-8 bytes, `"name_b64":"…"` otherwise, `"name":null` for nil.
    private static func bytesField(_ name: String, _ bytes: ByteBuffer?, _ w: inout JSONWriter) {
        guard let bytes else {
            w.key(name)
            w.null()
            return
        }
        let text: String? = bytes.withUnsafeReadableBytes { raw in
            String(validating: raw, as: UTF8.self)
        }
        if let text {
            w.key(name)
            w.string(text)
        } else {
            w.key(name + "_b64")
            w.string(Base64.encode(Array(bytes.readableBytesView)))
        }
    }

    /// The rows of a decompressed object, in line order. Empty lines are ignored.
    public static func rows(_ content: [UInt8]) throws(S3FormatError) -> [S3Row] {
        var rows: [S3Row] = []
        var start = 0
        var lineNumber = 0
        while start < content.count {
            var end = start
            while end < content.count && content[end] != 0x0A { end += 1 }
            lineNumber += 1
            if end > start {
                do {
                    rows.append(try row(Array(content[start..<end])))
                } catch {
                    throw S3FormatError("line \(lineNumber): \(error.message)")
                }
            }
            start = end + 1
        }
        return rows
    }

    /// One JSON line: the current format, or the old tool's (no timestamp; key/value strings).
    public static func row(_ line: [UInt8]) throws(S3FormatError) -> S3Row {
        let json: JSONValue
        do {
            json = try JSONValue.parse(line, limits: .init(maxDepth: 8, maxBytes: max(line.count, 1)))
        } catch {
            throw S3FormatError("\(error)")
        }
        guard case .object = json else { throw S3FormatError("a line is not a JSON object") }
        guard case .number(let offsetText)? = json["offset"], let offset = Int64(offsetText), offset >= 0 else {
            throw S3FormatError("no valid `offset`")
        }
        let key = try bytes(json, "key")
        let value = try bytes(json, "value")
        var headers: [S3Row.Header] = []
        switch json["headers"] {
        case nil, .null?: break
        case .array(let items)?:
            for item in items {
                guard case .string(let k)? = item["key"] else { throw S3FormatError("a header without a string `key`") }
                headers.append(.init(key: k, value: try bytes(item, "value")))
            }
        default: throw S3FormatError("`headers` is not an array")
        }
        var timestamp: Int64?
        switch json["timestamp"] {
        case nil, .null?: timestamp = nil
        case .number(let t)?:
            guard let ts = Int64(t) else { throw S3FormatError("`timestamp` is not an integer: \(t)") }
            timestamp = ts
        default: throw S3FormatError("`timestamp` is not a number")
        }
        return S3Row(offset: offset, key: key, value: value, headers: headers, timestamp: timestamp)
    }

    private static func bytes(_ object: JSONValue, _ name: String) throws(S3FormatError) -> [UInt8]? {
        if case .string(let b64)? = object[name + "_b64"] {
            guard let decoded = Base64.decode(b64) else { throw S3FormatError("`\(name)_b64` is not base64") }
            return decoded
        }
        switch object[name] {
        case nil, .null?: return nil
        case .string(let s)?: return Array(s.utf8)
        default: throw S3FormatError("`\(name)` is not a string or null")
        }
    }

    /// gzip of `lines` as one member.
    public static func gzip(_ lines: [UInt8]) throws -> [UInt8] {
        try Gzip.compress(lines, level: 6)
    }

    /// Inflates an object (every gzip member), at most `maxOutput` bytes.
    public static func gunzip(_ object: [UInt8], maxOutput: Int = 1 << 30) throws -> [UInt8] {
        try Gzip.decompress(object, maxOutput: maxOutput)
    }
}

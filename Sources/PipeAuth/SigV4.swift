public import WireCore
/// AWS Signature Version 4: header signing and query (presigned URL) signing.
///
/// One implementation shared by the S3 client and Kafka's AWS_MSK_IAM. Verified against the
/// aws-c-auth SigV4 test suite (both variants of every case).
///
/// Paths are given *decoded* (as the object key reads: `/my bucket/ሴ`); the signer percent-encodes
/// each byte outside RFC 3986's unreserved set once, keeping `/`. Use `SigV4Signer.encodePath`
/// for the request line so that what is sent equals what is signed. Query items are given decoded
/// too. S3 wants `normalizePath: false` (keys may contain `//` and `..`).
public struct SigV4Signer: Sendable {
    public var credentials: AWSCredentials
    public var region: String
    public var service: String
    /// Remove `.`/`..` segments and empty segments from the path before signing (every service but S3).
    public var normalizePath: Bool

    public static let algorithm = "AWS4-HMAC-SHA256"
    /// The payload hash S3 accepts when the body is not signed.
    public static let unsignedPayload = "UNSIGNED-PAYLOAD"
    /// SHA-256 of the empty string.
    public static let emptyPayloadHash = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

    public init(credentials: AWSCredentials, region: String, service: String, normalizePath: Bool = true) {
        self.credentials = credentials
        self.region = region
        self.service = service
        self.normalizePath = normalizePath
    }

    /// The outcome of signing: what to add to the request, and the intermediate strings
    /// (useful in tests and when a server reports a signature mismatch).
    public struct Signature: Sendable {
        public var canonicalRequest: String
        public var stringToSign: String
        /// Hex HMAC-SHA256.
        public var signature: String
        /// Headers to add to the request, in this order (header signing).
        public var headers: [(name: String, value: String)]
        /// Query items to append to the request's query, decoded, in this order (query signing).
        public var queryItems: [(name: String, value: String)]
    }

    /// Header signing: returns `X-Amz-Security-Token` (with session credentials), `X-Amz-Date`,
    /// `x-amz-content-sha256` (when `addContentSHA256Header`; S3 needs it) and `Authorization`.
    ///
    /// - Parameters:
    ///   - headers: every header that will be sent and should be signed; must include `Host`.
    ///   - payloadHash: hex SHA-256 of the body, or `UNSIGNED-PAYLOAD`.
    ///   - signSessionToken: false adds the token header after signing (a few services want that).
    public func signHeaders(method: String, path: String, query: [(String, String)] = [],
                            headers: [(String, String)], payloadHash: String, date: UnixTime,
                            addContentSHA256Header: Bool = false, signSessionToken: Bool = true) -> Signature {
        let (amzDate, day) = Self.timestamps(date)
        var signed = headers.filter { !Self.isReplacedHeader($0.0) }
        var added: [(name: String, value: String)] = []
        if let token = credentials.sessionToken {
            added.append(("X-Amz-Security-Token", token))
            if signSessionToken { signed.append(("X-Amz-Security-Token", token)) }
        }
        added.append(("X-Amz-Date", amzDate))
        signed.append(("X-Amz-Date", amzDate))
        if addContentSHA256Header {
            added.append(("x-amz-content-sha256", payloadHash))
            signed.append(("x-amz-content-sha256", payloadHash))
        }
        let (canonicalHeaders, signedHeaders) = Self.canonicalHeaders(signed)
        let canonicalRequest = [method, Self.canonicalPath(path, normalize: normalizePath),
                                Self.canonicalQuery(query), canonicalHeaders, signedHeaders, payloadHash]
            .joined(separator: "\n")
        let scope = "\(day)/\(region)/\(service)/aws4_request"
        let stringToSign = stringToSign(canonicalRequest: canonicalRequest, amzDate: amzDate, scope: scope)
        let signature = sign(stringToSign, day: day)
        added.append(("Authorization",
                      "\(Self.algorithm) Credential=\(credentials.accessKeyID)/\(scope), SignedHeaders=\(signedHeaders), Signature=\(signature)"))
        return Signature(canonicalRequest: canonicalRequest, stringToSign: stringToSign, signature: signature,
                         headers: added, queryItems: [])
    }

    /// Query signing (a presigned URL): returns the `X-Amz-*` query items to append, the last
    /// being `X-Amz-Signature`.
    ///
    /// - Parameters:
    ///   - headers: the headers the URL's user will send and that are signed; must include `Host`.
    ///   - payloadHash: `UNSIGNED-PAYLOAD` for S3; the hex SHA-256 of the body otherwise.
    ///   - expires: seconds the URL stays valid (1...604800).
    public func presign(method: String, path: String, query: [(String, String)] = [],
                        headers: [(String, String)], payloadHash: String = SigV4Signer.unsignedPayload,
                        date: UnixTime, expires: Int, signSessionToken: Bool = true) -> Signature {
        let (amzDate, day) = Self.timestamps(date)
        let scope = "\(day)/\(region)/\(service)/aws4_request"
        let signedHeaderList = headers.filter { !Self.isReplacedHeader($0.0) }
        let (canonicalHeaders, signedHeaders) = Self.canonicalHeaders(signedHeaderList)
        var added: [(name: String, value: String)] = [
            ("X-Amz-Algorithm", Self.algorithm),
            ("X-Amz-Credential", "\(credentials.accessKeyID)/\(scope)"),
            ("X-Amz-Date", amzDate),
            ("X-Amz-SignedHeaders", signedHeaders),
            ("X-Amz-Expires", String(expires)),
        ]
        var signedQuery = query + added.map { ($0.name, $0.value) }
        if let token = credentials.sessionToken {
            added.append(("X-Amz-Security-Token", token))
            if signSessionToken { signedQuery.append(("X-Amz-Security-Token", token)) }
        }
        let canonicalRequest = [method, Self.canonicalPath(path, normalize: normalizePath),
                                Self.canonicalQuery(signedQuery), canonicalHeaders, signedHeaders, payloadHash]
            .joined(separator: "\n")
        let stringToSign = stringToSign(canonicalRequest: canonicalRequest, amzDate: amzDate, scope: scope)
        let signature = sign(stringToSign, day: day)
        added.append(("X-Amz-Signature", signature))
        return Signature(canonicalRequest: canonicalRequest, stringToSign: stringToSign, signature: signature,
                         headers: [], queryItems: added)
    }

    func stringToSign(canonicalRequest: String, amzDate: String, scope: String) -> String {
        [Self.algorithm, amzDate, scope, Hex.encode(Digest.sha256.hash(canonicalRequest))].joined(separator: "\n")
    }

    /// The derived key: HMAC chain over date, region, service and "aws4_request".
    func sign(_ stringToSign: String, day: String) -> String {
        var key = Array("AWS4\(credentials.secretAccessKey)".utf8)
        for part in [day, region, service, "aws4_request"] {
            key = Digest.sha256.hmac(key: key, data: Array(part.utf8))
        }
        return Hex.encode(Digest.sha256.hmac(key: key, data: Array(stringToSign.utf8)))
    }

    /// Headers that the signer sets itself or that proxies rewrite: never signed from the input.
    static func isReplacedHeader(_ name: String) -> Bool {
        switch name.lowercased() {
        case "authorization", "x-amz-date", "x-amz-security-token", "x-amz-content-sha256",
             "user-agent", "x-amzn-trace-id", "expect", "connection", "transfer-encoding":
            true
        default:
            false
        }
    }

    // MARK: canonical forms

    /// Lower-cased names sorted; values trimmed with inner whitespace runs collapsed to one space;
    /// repeated headers joined with `,` in their order.
    public static func canonicalHeaders(_ headers: [(String, String)]) -> (canonical: String, signedHeaders: String) {
        var values: [String: [String]] = [:]
        for (name, value) in headers {
            values[name.lowercased(), default: []].append(collapseWhitespace(value))
        }
        let names = values.keys.sorted { Array($0.utf8).lexicographicallyPrecedes(Array($1.utf8)) }
        var canonical = ""
        for name in names {
            canonical += name + ":" + values[name]!.joined(separator: ",") + "\n"
        }
        return (canonical, names.joined(separator: ";"))
    }

    static func collapseWhitespace(_ value: String) -> String {
        var out: [UInt8] = []
        var pendingSpace = false
        for b in value.utf8 {
            if b == 0x20 || b == 0x09 || b == 0x0A || b == 0x0D {
                pendingSpace = !out.isEmpty
            } else {
                if pendingSpace { out.append(0x20) }
                pendingSpace = false
                out.append(b)
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// Items encoded (keys and values, `/` too) and sorted by key, then value.
    public static func canonicalQuery(_ items: [(String, String)]) -> String {
        let encoded = items.map { (uriEncode($0.0, encodeSlash: true), uriEncode($0.1, encodeSlash: true)) }
        let sorted = encoded.sorted { a, b in
            if a.0 != b.0 { return Array(a.0.utf8).lexicographicallyPrecedes(Array(b.0.utf8)) }
            return Array(a.1.utf8).lexicographicallyPrecedes(Array(b.1.utf8))
        }
        return sorted.map { $0.0 + "=" + $0.1 }.joined(separator: "&")
    }

    /// The canonical URI: optionally normalized, then encoded once with `/` kept.
    public static func canonicalPath(_ path: String, normalize: Bool) -> String {
        var p = path.isEmpty ? "/" : path
        if normalize { p = normalizedPath(p) }
        return uriEncode(p, encodeSlash: false)
    }

    /// Removes `.` and empty segments, resolves `..`, keeps a trailing slash.
    public static func normalizedPath(_ path: String) -> String {
        var segments: [Substring] = []
        let parts = path.split(separator: "/", omittingEmptySubsequences: false)
        for part in parts {
            switch part {
            case "", ".": continue
            case "..": if !segments.isEmpty { segments.removeLast() }
            default: segments.append(part)
            }
        }
        if segments.isEmpty { return "/" }
        var out = "/" + segments.joined(separator: "/")
        if let last = parts.last, last.isEmpty || last == "." || last == ".." { out += "/" }
        return out
    }

    /// RFC 3986 percent-encoding of every byte but `A-Z a-z 0-9 - _ . ~` (and `/` when kept),
    /// with upper-case hex, as SigV4 requires.
    public static func uriEncode(_ text: String, encodeSlash: Bool) -> String {
        let hex: [UInt8] = Array("0123456789ABCDEF".utf8)
        var out: [UInt8] = []
        out.reserveCapacity(text.utf8.count)
        for b in text.utf8 {
            switch b {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
                 UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "_"),
                 UInt8(ascii: "."), UInt8(ascii: "~"):
                out.append(b)
            case UInt8(ascii: "/") where !encodeSlash:
                out.append(b)
            default:
                out.append(UInt8(ascii: "%"))
                out.append(hex[Int(b >> 4)])
                out.append(hex[Int(b & 0x0F)])
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// The path as it goes on the request line, matching what `canonicalPath(_, normalize: false)` signs.
    public static func encodePath(_ path: String) -> String { uriEncode(path, encodeSlash: false) }

    /// A query string (without `?`) from decoded items, in the given order.
    public static func encodeQuery(_ items: [(String, String)]) -> String {
        items.map { uriEncode($0.0, encodeSlash: true) + "=" + uriEncode($0.1, encodeSlash: true) }
            .joined(separator: "&")
    }

    /// `20150830T123600Z` and `20150830` in UTC.
    public static func timestamps(_ date: UnixTime) -> (amzDate: String, day: String) {
        let c = date.civil
        func pad(_ v: Int64, _ width: Int) -> String {
            let s = String(v)
            return String(repeating: "0", count: max(0, width - s.count)) + s
        }
        let day = pad(c.year, 4) + pad(Int64(c.month), 2) + pad(Int64(c.day), 2)
        let time = pad(Int64(c.hour), 2) + pad(Int64(c.minute), 2) + pad(Int64(c.second), 2)
        return (day + "T" + time + "Z", day)
    }
}

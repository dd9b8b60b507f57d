internal import HTTPWire
public import Logging
public import NIOCore
public import PipeAuth
public import PipeTLS
internal import Synchronization
internal import WireCore

/// A native S3 client over our HTTP/1.1 client, signed with SigV4.
public final class S3Client: Sendable {
    public struct Endpoint: Sendable, Hashable {
        public var host: String
        public var port: Int
        public var useTLS: Bool
        public init(host: String, port: Int? = nil, useTLS: Bool = true) {
            self.host = host
            self.port = port ?? (useTLS ? 443 : 80)
            self.useTLS = useTLS
        }

        /// From `http://host:port` or `https://host[:port]`.
        public init?(url: String) {
            let tls: Bool
            var rest: Substring
            if url.hasPrefix("https://") { tls = true; rest = url.dropFirst(8) }
            else if url.hasPrefix("http://") { tls = false; rest = url.dropFirst(7) }
            else { return nil }
            if let slash = rest.firstIndex(of: "/") { rest = rest[..<slash] }
            var port: Int?
            if let colon = rest.lastIndex(of: ":") {
                guard let p = Int(rest[rest.index(after: colon)...]), (1...65535).contains(p) else { return nil }
                port = p
                rest = rest[..<colon]
            }
            guard !rest.isEmpty else { return nil }
            self.init(host: String(rest), port: port, useTLS: tls)
        }
    }

    public enum Addressing: Sendable, Hashable {
        /// `http://host/bucket/key`.
        case path
        /// `http://bucket.host/key`.
        case virtualHosted
    }

    public enum PayloadSigning: Sendable, Hashable {
        /// SHA-256 of every body in the signature.
        case signed
        /// `UNSIGNED-PAYLOAD` (only sensible over TLS).
        case unsigned
    }

    public struct Configuration: Sendable {
        public var endpoint: Endpoint
        public var region: String
        public var credentials: AWSCredentials
        public var addressing: Addressing
        /// TLS settings when `endpoint.useTLS` (default: the system trust store).
        public var tls: TLSConfiguration?
        public var payloadSigning: PayloadSigning
        /// Bodies at least this large go through multipart upload in `upload`.
        public var multipartThreshold: Int
        public var partSize: Int
        /// Parts uploaded at the same time.
        public var partConcurrency: Int
        /// Retries after the first attempt.
        public var maxRetries: Int
        public var retryBaseDelay: Duration
        public var retryMaxDelay: Duration
        public var connectTimeout: TimeAmount
        public var requestTimeout: TimeAmount
        /// Connect to this host (a name or an address) instead of resolving the request's host, which
        /// still goes in `Host` and is the name checked against the TLS certificate. For a local proxy,
        /// or a virtual-hosted test endpoint whose `<bucket>.<host>` names do not resolve. Default nil.
        public var connectHost: String? = nil

        public init(endpoint: Endpoint, region: String, credentials: AWSCredentials, addressing: Addressing = .path,
                    tls: TLSConfiguration? = nil, payloadSigning: PayloadSigning? = nil,
                    multipartThreshold: Int = 16 << 20, partSize: Int = 8 << 20, partConcurrency: Int = 4,
                    maxRetries: Int = 4, retryBaseDelay: Duration = .milliseconds(100), retryMaxDelay: Duration = .seconds(5),
                    connectTimeout: TimeAmount = .seconds(10), requestTimeout: TimeAmount = .seconds(300)) {
            self.endpoint = endpoint
            self.region = region
            self.credentials = credentials
            self.addressing = addressing
            self.tls = tls
            self.payloadSigning = payloadSigning ?? (endpoint.useTLS ? .unsigned : .signed)
            self.multipartThreshold = multipartThreshold
            self.partSize = max(partSize, 5 << 20)
            self.partConcurrency = max(1, partConcurrency)
            self.maxRetries = max(0, maxRetries)
            self.retryBaseDelay = retryBaseDelay
            self.retryMaxDelay = retryMaxDelay
            self.connectTimeout = connectTimeout
            self.requestTimeout = requestTimeout
        }
    }

    public let configuration: Configuration
    private let logger: Logger
    private let group: (any EventLoopGroup)?
    private let signer: SigV4Signer
    private let clients = Mutex<(closed: Bool, byHost: [String: HTTPClient])>((false, [:]))

    public init(configuration: Configuration, logger: Logger = Logger(label: "s3"),
                eventLoopGroup: (any EventLoopGroup)? = nil) {
        self.configuration = configuration
        self.logger = logger
        self.group = eventLoopGroup
        self.signer = SigV4Signer(credentials: configuration.credentials, region: configuration.region,
                                  service: "s3", normalizePath: false)
    }

    /// Service-style: returns when cancelled, then closes every connection.
    public func run() async throws {
        let (stream, continuation) = AsyncStream<Void>.makeStream()
        await withTaskCancellationHandler {
            for await _ in stream {}
        } onCancel: {
            continuation.finish()
        }
        await shutdown()
    }

    /// Closes every connection; later requests fail with `shutdown`.
    public func shutdown() async {
        let all = clients.withLock { s -> [HTTPClient] in
            s.closed = true
            defer { s.byHost.removeAll() }
            return Array(s.byHost.values)
        }
        for c in all { await c.shutdown() }
    }

    private func client(host: String) throws(S3Error) -> HTTPClient {
        let result: Result<HTTPClient, S3Error> = clients.withLock { s in
            if s.closed { return .failure(S3Error(.shutdown, "client shut down")) }
            if let c = s.byHost[host] { return .success(c) }
            let e = configuration.endpoint
            let tls = e.useTLS ? (configuration.tls ?? TLSConfiguration()) : nil
            do {
                let c = try HTTPClient(configuration: .init(host: configuration.connectHost ?? host, port: e.port, tls: tls,
                                                            serverHostname: host,
                                                            connectTimeout: configuration.connectTimeout,
                                                            requestTimeout: configuration.requestTimeout,
                                                            maxIdleConnections: 32),
                                       logger: logger, eventLoopGroup: group)
                s.byHost[host] = c
                return .success(c)
            } catch {
                return .failure(S3Error(.transport, "TLS setup: \(error)", cause: error))
            }
        }
        return try result.get()
    }

    // MARK: - Requests

    struct Request {
        var method: String
        var bucket: String?
        var key: String?
        var query: [(String, String)] = []
        var headers: [(String, String)] = []
        var body: [UInt8] = []
        var sink: (@Sendable (ByteBuffer) -> Void)? = nil
    }

    /// Sends with retries; returns a 2xx response or throws an `S3Error`.
    func send(_ r: Request) async throws(S3Error) -> HTTPResponse {
        var attempt = 0
        let bodyBuffer: ByteBuffer? = r.body.isEmpty ? nil : ByteBuffer(bytes: r.body)
        let payloadHash = r.body.isEmpty ? SigV4Signer.emptyPayloadHash
            : (configuration.payloadSigning == .signed ? Hex.encode(Digest.sha256.hash(r.body)) : SigV4Signer.unsignedPayload)
        while true {
            let gate = SinkGate(sink: r.sink)
            do {
                return try await sendOnce(r, body: bodyBuffer, payloadHash: payloadHash, gate: gate)
            } catch {
                // A streamed download cannot be replayed once bytes reached the sink (the sink gets
                // bytes only after a 2xx head); before that, a dropped connection is retried as usual.
                guard error.isRetryable, attempt < configuration.maxRetries, !gate.delivered else {
                    throw error
                }
                attempt += 1
                let cap = min(configuration.retryMaxDelay, configuration.retryBaseDelay * (1 << min(attempt, 20)))
                let capNanos = max(1, cap.components.seconds * 1_000_000_000 + cap.components.attoseconds / 1_000_000_000)
                let delay = Duration.nanoseconds(Int64.random(in: 0...capNanos))
                logger.debug("S3 retry", metadata: ["attempt": "\(attempt)", "error": "\(error)"])
                do { try await Task.sleep(for: delay) } catch { throw S3Error(.transport, "cancelled", cause: error) }
            }
        }
    }

    private func sendOnce(_ r: Request, body: ByteBuffer?, payloadHash: String, gate: SinkGate) async throws(S3Error) -> HTTPResponse {
        let (http, head, hostHeader) = try prepare(r, payloadHash: payloadHash)
        let response: HTTPResponse
        // Only a 2xx response's body goes to the sink; errors are collected to read their XML.
        do {
            response = try await http.execute(head, body: body, sink: r.sink == nil ? nil : gate.forward)
        } catch {
            throw S3Error(.transport, "\(r.method) \(hostHeader): \(error)", bucket: r.bucket, key: r.key, cause: error)
        }
        return try check(response, body: gate.errorBody(response), r)
    }

    /// The signed request head and the connection pool of its host.
    private func prepare(_ r: Request, payloadHash: String) throws(S3Error) -> (HTTPClient, HTTPRequestHead, String) {
        let (host, path, hostHeader) = address(bucket: r.bucket, key: r.key)
        var headers: [(String, String)] = [("Host", hostHeader)] + r.headers
        let sig = signer.signHeaders(method: r.method, path: path, query: r.query, headers: headers,
                                     payloadHash: payloadHash, date: .now(), addContentSHA256Header: true)
        headers += sig.headers.map { ($0.name, $0.value) }
        var target = SigV4Signer.encodePath(path)
        if !r.query.isEmpty { target += "?" + SigV4Signer.encodeQuery(r.query) }
        let http = try client(host: host)
        return (http, HTTPRequestHead(method: r.method, target: target, headers: HTTPHeaders(headers)), hostHeader)
    }

    /// Where a request for `bucket`/`key` goes under the configured addressing: the host to connect
    /// to, the unencoded path, and the `Host` header (with the port unless it is the scheme's default).
    private func address(bucket: String?, key: String?) -> (host: String, path: String, hostHeader: String) {
        let e = configuration.endpoint
        var host = e.host
        var path = "/"
        if let bucket {
            switch configuration.addressing {
            case .path: path = "/" + bucket + (key.map { "/" + $0 } ?? "")
            case .virtualHosted:
                host = bucket + "." + e.host
                path = "/" + (key ?? "")
            }
        }
        return (host, path, e.port == (e.useTLS ? 443 : 80) ? host : "\(host):\(e.port)")
    }

    /// A presigned URL (SigV4 query signing, `UNSIGNED-PAYLOAD`): anyone holding it can send
    /// `method` to `bucket`/`key` without credentials until it expires. Only `Host` is signed, so
    /// the user of a PUT URL may send any body and content type.
    ///
    /// - Parameters:
    ///   - expires: how long the URL stays valid, 1 second to 7 days (S3's limits).
    ///   - query: extra query items to sign in, e.g. `response-content-type`.
    ///   - signingTime: the signing time in seconds since 1970 (now by default).
    public func presignedURL(method: String = "GET", bucket: String, key: String, expires: Duration = .seconds(3600),
                             query: [(String, String)] = [], at signingTime: Int64? = nil) throws(S3Error) -> String {
        let seconds = Int(expires.components.seconds)
        guard (1...604_800).contains(seconds) else {
            throw S3Error(.invalidArgument, "presigned URL expiry must be 1 s to 7 days, not \(expires)", bucket: bucket, key: key)
        }
        let (_, path, hostHeader) = address(bucket: bucket, key: key)
        let sig = signer.presign(method: method, path: path, query: query, headers: [("Host", hostHeader)],
                                 date: signingTime.map { UnixTime(seconds: $0) } ?? .now(), expires: seconds)
        let items = query + sig.queryItems.map { ($0.name, $0.value) }
        let scheme = configuration.endpoint.useTLS ? "https" : "http"
        return "\(scheme)://\(hostHeader)\(SigV4Signer.encodePath(path))?\(SigV4Signer.encodeQuery(items))"
    }

    /// A 2xx response as it is, anything else (or an error document after a 200 head) as an `S3Error`.
    private func check(_ response: HTTPResponse, body: [UInt8], _ r: Request) throws(S3Error) -> HTTPResponse {
        if response.status >= 200 && response.status < 300 {
            // CopyObject and CompleteMultipartUpload can fail after a 200 head.
            if (r.method == "PUT" && r.headers.contains { $0.0 == "x-amz-copy-source" })
                || (r.method == "POST" && r.query.contains { $0.0 == "uploadId" }) {
                if let root = try? XMLReader.parse(body), root.name == "Error" {
                    throw serviceError(root: root, response: response, r)
                }
            }
            return HTTPResponse(head: response.head, body: body)
        }
        var root: XMLElement?
        if !body.isEmpty { root = try? XMLReader.parse(body) }
        throw serviceError(root: root, response: response, r)
    }

    /// Sends a body streamed from `stream` (exactly `length` bytes), signed `UNSIGNED-PAYLOAD`
    /// since its hash is not known up front. Not retried: a stream cannot be replayed.
    func sendStreaming<Body: AsyncSequence>(_ r: Request, length: Int, stream: Body) async throws(S3Error) -> HTTPResponse
        where Body.Element == ByteBuffer {
        let (http, head, hostHeader) = try prepare(r, payloadHash: SigV4Signer.unsignedPayload)
        let response: HTTPResponse
        do {
            response = try await http.execute(head, length: length, stream: stream)
        } catch {
            throw S3Error(.transport, "\(r.method) \(hostHeader): \(error)", bucket: r.bucket, key: r.key, cause: error)
        }
        return try check(response, body: response.body, r)
    }

    private func serviceError(root: XMLElement?, response: HTTPResponse, _ r: Request) -> S3Error {
        let status = response.status
        let fallback: String = switch status {
        case 301: "PermanentRedirect"
        case 304: "NotModified"
        case 400: "BadRequest"
        case 403: "Forbidden"
        case 404: r.key == nil ? "NoSuchBucket" : "NotFound"
        case 409: "Conflict"
        case 412: "PreconditionFailed"
        case 503: "SlowDown"
        default: "HTTP\(status)"
        }
        let code = root?.text("Code") ?? fallback
        let message = root?.text("Message") ?? HTTPResponse.reasonPhrase(status)
        let requestID = root?.text("RequestId") ?? response.headers["x-amz-request-id"]
        return S3Error(.service, message, s3Code: code, requestID: requestID, status: status, bucket: r.bucket, key: r.key)
    }

    // MARK: - Buckets

    public func createBucket(_ bucket: String) async throws(S3Error) {
        var r = Request(method: "PUT", bucket: bucket)
        if configuration.region != "us-east-1" {
            r.body = Array("<CreateBucketConfiguration xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><LocationConstraint>\(xmlEscape(configuration.region))</LocationConstraint></CreateBucketConfiguration>".utf8)
            r.headers.append(("Content-Type", "application/xml"))
        }
        _ = try await send(r)
    }

    /// Succeeds when the bucket exists and is reachable with these credentials.
    public func headBucket(_ bucket: String) async throws(S3Error) {
        _ = try await send(Request(method: "HEAD", bucket: bucket))
    }

    public func deleteBucket(_ bucket: String) async throws(S3Error) {
        _ = try await send(Request(method: "DELETE", bucket: bucket))
    }

    // MARK: - Objects

    public struct ObjectInfo: Sendable, Equatable {
        public var size: Int64
        public var etag: String?
        public var contentType: String?
        public var contentEncoding: String?
        public var lastModified: String?
        /// User metadata (`x-amz-meta-*`), names lower-cased without the prefix.
        public var metadata: [String: String]
        /// `Content-Range` of a ranged get.
        public var contentRange: String?
        public var versionID: String?
    }

    static func info(_ h: HTTPHeaders, bodyCount: Int? = nil) -> ObjectInfo {
        var meta: [String: String] = [:]
        for (name, value) in h where name.lowercased().hasPrefix("x-amz-meta-") {
            meta[String(name.lowercased().dropFirst(11))] = value
        }
        let size = h["Content-Length"].flatMap { Int64($0) } ?? Int64(bodyCount ?? 0)
        return ObjectInfo(size: size, etag: h["ETag"], contentType: h["Content-Type"],
                          contentEncoding: h["Content-Encoding"], lastModified: h["Last-Modified"], metadata: meta,
                          contentRange: h["Content-Range"], versionID: h["x-amz-version-id"])
    }

    /// A single PUT. `ifNoneMatch: "*"` makes it fail with 412 `PreconditionFailed` when the key exists.
    /// Returns the ETag.
    @discardableResult
    public func putObject(bucket: String, key: String, body: [UInt8], contentType: String? = nil,
                          contentEncoding: String? = nil, metadata: [String: String] = [:],
                          ifNoneMatch: String? = nil) async throws(S3Error) -> String? {
        var r = Request(method: "PUT", bucket: bucket, key: key, body: body)
        r.headers = objectHeaders(contentType: contentType, contentEncoding: contentEncoding, metadata: metadata)
        if let ifNoneMatch { r.headers.append(("If-None-Match", ifNoneMatch)) }
        return try await send(r).headers["ETag"]
    }

    /// PutObject with the body streamed from `stream`, which must yield exactly `contentLength`
    /// bytes (any more or fewer fail the request). The payload is signed `UNSIGNED-PAYLOAD`; the
    /// request is not retried (a stream cannot be replayed). Returns the ETag.
    @discardableResult
    public func putObject<Body: AsyncSequence>(bucket: String, key: String, contentLength: Int, stream: Body,
                                               contentType: String? = nil, contentEncoding: String? = nil,
                                               metadata: [String: String] = [:],
                                               ifNoneMatch: String? = nil) async throws(S3Error) -> String?
        where Body.Element == ByteBuffer {
        guard contentLength >= 0 else {
            throw S3Error(.invalidArgument, "negative content length \(contentLength)", bucket: bucket, key: key)
        }
        var r = Request(method: "PUT", bucket: bucket, key: key)
        r.headers = objectHeaders(contentType: contentType, contentEncoding: contentEncoding, metadata: metadata)
        if let ifNoneMatch { r.headers.append(("If-None-Match", ifNoneMatch)) }
        return try await sendStreaming(r, length: contentLength, stream: stream).headers["ETag"]
    }

    private func objectHeaders(contentType: String?, contentEncoding: String?, metadata: [String: String]) -> [(String, String)] {
        var h: [(String, String)] = []
        if let contentType { h.append(("Content-Type", contentType)) }
        if let contentEncoding { h.append(("Content-Encoding", contentEncoding)) }
        for (k, v) in metadata.sorted(by: { $0.key < $1.key }) { h.append(("x-amz-meta-" + k, v)) }
        return h
    }

    /// Byte range `first...last` (inclusive), or the last `suffix` bytes.
    public enum ByteRange: Sendable, Hashable {
        case bytes(Int64, Int64)
        case from(Int64)
        case suffix(Int64)
        var header: String {
            switch self {
            case .bytes(let a, let b): "bytes=\(a)-\(b)"
            case .from(let a): "bytes=\(a)-"
            case .suffix(let n): "bytes=-\(n)"
            }
        }
    }

    public func getObject(bucket: String, key: String, range: ByteRange? = nil) async throws(S3Error) -> (ObjectInfo, [UInt8]) {
        var r = Request(method: "GET", bucket: bucket, key: key)
        if let range { r.headers.append(("Range", range.header)) }
        let resp = try await send(r)
        return (Self.info(resp.headers, bodyCount: resp.body.count), resp.body)
    }

    /// Streams the body to `sink` as it arrives (called on a NIO event loop thread; do not block).
    /// Not retried once the first body byte has been delivered.
    public func getObject(bucket: String, key: String, range: ByteRange? = nil,
                          sink: @escaping @Sendable (ByteBuffer) -> Void) async throws(S3Error) -> ObjectInfo {
        var r = Request(method: "GET", bucket: bucket, key: key)
        if let range { r.headers.append(("Range", range.header)) }
        r.sink = sink
        return Self.info(try await send(r).headers)
    }

    public func headObject(bucket: String, key: String) async throws(S3Error) -> ObjectInfo {
        Self.info(try await send(Request(method: "HEAD", bucket: bucket, key: key)).headers)
    }

    public func deleteObject(bucket: String, key: String) async throws(S3Error) {
        _ = try await send(Request(method: "DELETE", bucket: bucket, key: key))
    }

    public struct DeleteFailure: Sendable, Equatable {
        public var key: String
        public var code: String
        public var message: String
    }

    /// Deletes up to 1000 keys per request (more are split); returns the keys S3 could not delete.
    public func deleteObjects(bucket: String, keys: [String]) async throws(S3Error) -> [DeleteFailure] {
        var failures: [DeleteFailure] = []
        var start = 0
        while start < keys.count {
            let batch = keys[start..<min(start + 1000, keys.count)]
            start += batch.count
            var xml = "<Delete xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><Quiet>true</Quiet>"
            for k in batch { xml += "<Object><Key>\(xmlEscape(k))</Key></Object>" }
            xml += "</Delete>"
            let body = Array(xml.utf8)
            var r = Request(method: "POST", bucket: bucket, query: [("delete", "")], body: body)
            r.headers = [("Content-Type", "application/xml"), ("Content-MD5", Base64.encode(Digest.md5.hash(body)))]
            let resp = try await send(r)
            let root = try XMLReader.parse(resp.body)
            for e in root.all("Error") {
                failures.append(DeleteFailure(key: e.text("Key") ?? "", code: e.text("Code") ?? "", message: e.text("Message") ?? ""))
            }
        }
        return failures
    }

    public struct ObjectSummary: Sendable, Equatable {
        public var key: String
        public var size: Int64
        public var etag: String?
        public var lastModified: String?
    }

    public struct ListPage: Sendable, Equatable {
        public var objects: [ObjectSummary]
        public var commonPrefixes: [String]
        public var isTruncated: Bool
        public var nextContinuationToken: String?
    }

    /// One page of ListObjectsV2.
    public func listObjectsV2(bucket: String, prefix: String? = nil, delimiter: String? = nil, startAfter: String? = nil,
                              continuationToken: String? = nil, maxKeys: Int? = nil) async throws(S3Error) -> ListPage {
        var q: [(String, String)] = [("list-type", "2")]
        if let prefix { q.append(("prefix", prefix)) }
        if let delimiter { q.append(("delimiter", delimiter)) }
        if let startAfter { q.append(("start-after", startAfter)) }
        if let continuationToken { q.append(("continuation-token", continuationToken)) }
        if let maxKeys { q.append(("max-keys", String(maxKeys))) }
        let resp = try await send(Request(method: "GET", bucket: bucket, query: q))
        let root = try XMLReader.parse(resp.body)
        guard root.name == "ListBucketResult" else {
            throw S3Error(.malformedResponse, "expected ListBucketResult, got \(root.name)", bucket: bucket)
        }
        var objects: [ObjectSummary] = []
        for c in root.all("Contents") {
            guard let key = c.text("Key") else { throw S3Error(.malformedResponse, "Contents without Key", bucket: bucket) }
            objects.append(ObjectSummary(key: key, size: c.text("Size").flatMap { Int64($0) } ?? 0,
                                         etag: c.text("ETag"), lastModified: c.text("LastModified")))
        }
        let prefixes = root.all("CommonPrefixes").compactMap { $0.text("Prefix") }
        return ListPage(objects: objects, commonPrefixes: prefixes, isTruncated: root.text("IsTruncated") == "true",
                        nextContinuationToken: root.text("NextContinuationToken"))
    }

    /// Every object under `prefix`, following continuation tokens.
    public func listAll(bucket: String, prefix: String? = nil) async throws(S3Error) -> [ObjectSummary] {
        var all: [ObjectSummary] = []
        var token: String?
        repeat {
            let page = try await listObjectsV2(bucket: bucket, prefix: prefix, continuationToken: token)
            all += page.objects
            token = page.isTruncated ? page.nextContinuationToken : nil
            if page.isTruncated && token == nil {
                throw S3Error(.malformedResponse, "truncated listing without a continuation token", bucket: bucket)
            }
        } while token != nil
        return all
    }

    /// Server-side copy; returns the new ETag.
    @discardableResult
    public func copyObject(sourceBucket: String, sourceKey: String, bucket: String, key: String) async throws(S3Error) -> String? {
        var r = Request(method: "PUT", bucket: bucket, key: key)
        r.headers = [("x-amz-copy-source", SigV4Signer.encodePath("/" + sourceBucket + "/" + sourceKey))]
        let resp = try await send(r)
        return (try? XMLReader.parse(resp.body))?.text("ETag") ?? resp.headers["ETag"]
    }

    // MARK: - Multipart

    public func createMultipartUpload(bucket: String, key: String, contentType: String? = nil,
                                      contentEncoding: String? = nil, metadata: [String: String] = [:]) async throws(S3Error) -> String {
        var r = Request(method: "POST", bucket: bucket, key: key, query: [("uploads", "")])
        r.headers = objectHeaders(contentType: contentType, contentEncoding: contentEncoding, metadata: metadata)
        let resp = try await send(r)
        guard let id = try XMLReader.parse(resp.body).text("UploadId"), !id.isEmpty else {
            throw S3Error(.malformedResponse, "no UploadId", bucket: bucket, key: key)
        }
        return id
    }

    /// Returns the part's ETag.
    public func uploadPart(bucket: String, key: String, uploadID: String, partNumber: Int, body: [UInt8]) async throws(S3Error) -> String {
        let r = Request(method: "PUT", bucket: bucket, key: key,
                        query: [("partNumber", String(partNumber)), ("uploadId", uploadID)], body: body)
        guard let etag = try await send(r).headers["ETag"] else {
            throw S3Error(.malformedResponse, "part \(partNumber) without ETag", bucket: bucket, key: key)
        }
        return etag
    }

    @discardableResult
    public func completeMultipartUpload(bucket: String, key: String, uploadID: String,
                                        parts: [(partNumber: Int, etag: String)]) async throws(S3Error) -> String? {
        var xml = "<CompleteMultipartUpload xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
        for p in parts.sorted(by: { $0.partNumber < $1.partNumber }) {
            xml += "<Part><PartNumber>\(p.partNumber)</PartNumber><ETag>\(xmlEscape(p.etag))</ETag></Part>"
        }
        xml += "</CompleteMultipartUpload>"
        var r = Request(method: "POST", bucket: bucket, key: key, query: [("uploadId", uploadID)], body: Array(xml.utf8))
        r.headers = [("Content-Type", "application/xml")]
        let resp = try await send(r)
        return (try? XMLReader.parse(resp.body))?.text("ETag")
    }

    public func abortMultipartUpload(bucket: String, key: String, uploadID: String) async throws(S3Error) {
        _ = try await send(Request(method: "DELETE", bucket: bucket, key: key, query: [("uploadId", uploadID)]))
    }

    /// Uploads `body`, through multipart upload (parts in parallel) when it is at least
    /// `multipartThreshold` bytes; an upload that fails is aborted. Returns the ETag.
    @discardableResult
    public func upload(bucket: String, key: String, body: [UInt8], contentType: String? = nil,
                       contentEncoding: String? = nil, metadata: [String: String] = [:]) async throws(S3Error) -> String? {
        if body.count < configuration.multipartThreshold {
            return try await putObject(bucket: bucket, key: key, body: body, contentType: contentType,
                                       contentEncoding: contentEncoding, metadata: metadata)
        }
        let uploadID = try await createMultipartUpload(bucket: bucket, key: key, contentType: contentType,
                                                       contentEncoding: contentEncoding, metadata: metadata)
        let size = configuration.partSize
        let count = (body.count + size - 1) / size
        do {
            let parts = try await withThrowingTaskGroup(of: (Int, String).self) { group in
                var next = 1
                var done: [(partNumber: Int, etag: String)] = []
                func add() {
                    let n = next
                    next += 1
                    let slice = Array(body[((n - 1) * size)..<min(n * size, body.count)])
                    group.addTask { (n, try await self.uploadPart(bucket: bucket, key: key, uploadID: uploadID, partNumber: n, body: slice)) }
                }
                while next <= min(count, configuration.partConcurrency) { add() }
                while let (n, etag) = try await group.next() {
                    done.append((n, etag))
                    if next <= count { add() }
                }
                return done
            }
            return try await completeMultipartUpload(bucket: bucket, key: key, uploadID: uploadID, parts: parts)
        } catch {
            try? await abortMultipartUpload(bucket: bucket, key: key, uploadID: uploadID)
            if let e = error as? S3Error { throw e }
            throw S3Error(.transport, "multipart upload: \(error)", bucket: bucket, key: key, cause: error)
        }
    }
}

/// Passes body bytes to the sink only for a 2xx response; keeps an error response's body.
final class SinkGate: Sendable {
    let sink: (@Sendable (ByteBuffer) -> Void)?
    private let state = Mutex<(pass: Bool, kept: [UInt8], delivered: Bool)>((false, [], false))

    /// Whether any byte went to the sink.
    var delivered: Bool { state.withLock { $0.delivered } }

    init(sink: (@Sendable (ByteBuffer) -> Void)?) { self.sink = sink }

    var forward: @Sendable (HTTPResponsePart) -> Void {
        { [self] part in
            switch part {
            case .head(let h):
                state.withLock { $0.pass = h.status >= 200 && h.status < 300 }
            case .body(let b):
                let pass = state.withLock { s -> Bool in
                    if s.pass {
                        s.delivered = s.delivered || b.readableBytes > 0
                        return true
                    }
                    s.kept.append(contentsOf: b.readableBytesView)
                    return false
                }
                if pass { sink?(b) }
            case .end:
                break
            }
        }
    }

    func errorBody(_ response: HTTPResponse) -> [UInt8] {
        guard sink != nil else { return response.body }
        return state.withLock { $0.kept }
    }
}

import Foundation
import PipeAuth
import PipeTestSupport
import WireCore
import Testing

/// The aws-c-auth SigV4 test suite in `../shared/aws-sigv4-test-suite`: every case, header and
/// query variants, compared byte for byte (canonical request, string to sign, signature and the
/// signed request).
@Suite struct SigV4SuiteTests {
    /// `../shared` beside the checkout; from a worktree (`/work/wt/x`) it is found further up.
    static var suiteDir: URL? {
        let name = "aws-sigv4-test-suite"
        if let shared = TestEnv.sharedDir, FileManager.default.fileExists(atPath: shared.appendingPathComponent(name).path) {
            return shared.appendingPathComponent(name)
        }
        var dir = TestEnv.repoRoot
        for _ in 0..<4 {
            dir.deleteLastPathComponent()
            let candidate = dir.appendingPathComponent("shared").appendingPathComponent(name)
            if FileManager.default.fileExists(atPath: candidate.path) { return candidate }
        }
        return nil
    }

    static var cases: [String] {
        guard let dir = suiteDir,
              let names = try? FileManager.default.contentsOfDirectory(atPath: dir.path) else { return [] }
        return names.filter { name in
            FileManager.default.fileExists(atPath: dir.appendingPathComponent(name).appendingPathComponent("request.txt").path)
        }.sorted()
    }

    struct ParsedRequest {
        var method: String
        var rawPath: String
        var rawQuery: String?
        var headerBlock: String          // the header lines as written, each ending in "\n"
        var headers: [(String, String)]  // continuation lines joined with "\n"
        var body: [UInt8]
    }

    static func parse(_ data: Data) async throws -> ParsedRequest {
        let bytes = [UInt8](data)
        // Header block ends at the first empty line; the rest is the body.
        var headerEnd = bytes.count
        var bodyStart = bytes.count
        if let range = data.range(of: Data("\n\n".utf8)) {
            headerEnd = range.lowerBound + 1
            bodyStart = range.upperBound
        }
        let head = String(decoding: bytes[0..<headerEnd], as: UTF8.self)
        var lines = head.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        if lines.last == "" { lines.removeLast() }
        let requestLine = lines.removeFirst()
        let method = String(requestLine.prefix { $0 != " " })
        let target = String(requestLine.dropFirst(method.count + 1).dropLast(" HTTP/1.1".count))
        var rawPath = target, rawQuery: String? = nil
        if let q = target.firstIndex(of: "?") {
            rawPath = String(target[..<q])
            rawQuery = String(target[target.index(after: q)...])
        }
        var headers: [(String, String)] = []
        for line in lines {
            if line.first == " " || line.first == "\t" {
                headers[headers.count - 1].1 += "\n" + line
            } else {
                let colon = try #require(line.firstIndex(of: ":"))
                headers.append((String(line[..<colon]), String(line[line.index(after: colon)...])))
            }
        }
        let headerBlock = lines.map { $0 + "\n" }.joined()
        return ParsedRequest(method: method, rawPath: rawPath, rawQuery: rawQuery, headerBlock: headerBlock,
                             headers: headers, body: Array(bytes[bodyStart...]))
    }

    static func percentDecode(_ s: String) -> String {
        s.removingPercentEncoding ?? s
    }

    static func queryItems(_ raw: String?) -> [(String, String)] {
        guard let raw, !raw.isEmpty else { return [] }
        return raw.split(separator: "&").map { part in
            if let eq = part.firstIndex(of: "=") {
                return (percentDecode(String(part[..<eq])), percentDecode(String(part[part.index(after: eq)...])))
            }
            return (percentDecode(String(part)), "")
        }
    }

    struct Context: Decodable {
        struct Credentials: Decodable {
            var access_key_id: String
            var secret_access_key: String
            var token: String?
        }
        var credentials: Credentials
        var expiration_in_seconds: Int
        var normalize: Bool
        var region: String
        var service: String
        var sign_body: Bool
        var timestamp: String
        var omit_session_token: Bool?
    }

    @Test func suiteIsPresent() {
        if Self.suiteDir == nil || Self.cases.isEmpty {
            if TestEnv.isCI { Issue.record("../shared/aws-sigv4-test-suite is missing") }
            else { print("skipping: ../shared/aws-sigv4-test-suite is missing") }
            return
        }
        #expect(Self.cases.count >= 30)
    }

    @Test(arguments: SigV4SuiteTests.cases)
    func suiteCase(_ name: String) async throws {
        let dir = try #require(Self.suiteDir).appendingPathComponent(name)
        func file(_ f: String) async throws -> String {
            try String(contentsOf: dir.appendingPathComponent(f), encoding: .utf8)
        }
        let context = try JSONDecoder().decode(Context.self, from: Data(contentsOf: dir.appendingPathComponent("context.json")))
        let request = try await Self.parse(Data(contentsOf: dir.appendingPathComponent("request.txt")))
        let date = UnixTime(seconds: Int64(try #require(ISO8601DateFormatter().date(from: context.timestamp)).timeIntervalSince1970))
        let signer = SigV4Signer(
            credentials: AWSCredentials(accessKeyID: context.credentials.access_key_id,
                                        secretAccessKey: context.credentials.secret_access_key,
                                        sessionToken: context.credentials.token),
            region: context.region, service: context.service, normalizePath: context.normalize)
        let payloadHash = Hex.encode(Digest.sha256.hash(request.body))
        let signSessionToken = !(context.omit_session_token ?? false)
        let query = Self.queryItems(request.rawQuery)
        let target = request.rawPath + (request.rawQuery.map { "?" + $0 } ?? "")

        // Header signing.
        let h = signer.signHeaders(method: request.method, path: request.rawPath, query: query, headers: request.headers,
                                   payloadHash: payloadHash, date: date, addContentSHA256Header: context.sign_body,
                                   signSessionToken: signSessionToken)
        await #expect(h.canonicalRequest == (try file("header-canonical-request.txt")), "\(name) header canonical request")
        await #expect(h.stringToSign == (try file("header-string-to-sign.txt")), "\(name) header string to sign")
        await #expect(h.signature == (try file("header-signature.txt")), "\(name) header signature")
        let headerSigned = "\(request.method) \(target) HTTP/1.1\n" + request.headerBlock
            + h.headers.map { "\($0.name):\($0.value)\n" }.joined() + "\n" + String(decoding: request.body, as: UTF8.self)
        await #expect(headerSigned == (try file("header-signed-request.txt")), "\(name) header signed request")

        // Query signing.
        let q = signer.presign(method: request.method, path: request.rawPath, query: query, headers: request.headers,
                               payloadHash: payloadHash, date: date, expires: context.expiration_in_seconds,
                               signSessionToken: signSessionToken)
        await #expect(q.canonicalRequest == (try file("query-canonical-request.txt")), "\(name) query canonical request")
        await #expect(q.stringToSign == (try file("query-string-to-sign.txt")), "\(name) query string to sign")
        await #expect(q.signature == (try file("query-signature.txt")), "\(name) query signature")
        let added = SigV4Signer.encodeQuery(q.queryItems.map { ($0.name, $0.value) })
        let fullQuery = (request.rawQuery.map { $0.isEmpty ? "" : $0 + "&" } ?? "") + added
        let querySigned = "\(request.method) \(request.rawPath)?\(fullQuery) HTTP/1.1\n" + request.headerBlock
            + "\n" + String(decoding: request.body, as: UTF8.self)
        await #expect(querySigned == (try file("query-signed-request.txt")), "\(name) query signed request")
    }
}

@Suite struct SigV4UnitTests {
    @Test func timestamps() {
        #expect(SigV4Signer.timestamps(UnixTime(seconds: 1_440_938_160)) == ("20150830T123600Z", "20150830"))
        #expect(SigV4Signer.timestamps(UnixTime(seconds: 0)) == ("19700101T000000Z", "19700101"))
        #expect(SigV4Signer.timestamps(UnixTime(seconds: 951_782_399)) == ("20000228T235959Z", "20000228"))
        #expect(SigV4Signer.timestamps(UnixTime(seconds: 951_782_400)) == ("20000229T000000Z", "20000229"))
        #expect(SigV4Signer.timestamps(UnixTime(seconds: 4_102_444_800, nanoseconds: 900_000_000)) == ("21000101T000000Z", "21000101"))
    }

    @Test func encodingAndNormalization() {
        #expect(SigV4Signer.uriEncode("a b/c~d+e=f%", encodeSlash: false) == "a%20b/c~d%2Be%3Df%25")
        #expect(SigV4Signer.uriEncode("a/b", encodeSlash: true) == "a%2Fb")
        #expect(SigV4Signer.normalizedPath("/a/./b/../c/") == "/a/c/")
        #expect(SigV4Signer.normalizedPath("/../..") == "/")
        #expect(SigV4Signer.canonicalPath("/a//b/../x y", normalize: false) == "/a//b/../x%20y")
        #expect(SigV4Signer.canonicalQuery([("b", "2"), ("a", "z"), ("a", "y"), ("c d", "")]) == "a=y&a=z&b=2&c%20d=")
    }

    /// S3 header signing against botocore's S3SigV4Auth for the same request, including a session
    /// token, an odd key and both payload-hash modes.
    @Test(arguments: [true, false])
    func s3HeaderSigningMatchesBotocore(unsignedPayload: Bool) async throws {
        guard await botocoreAvailable() else { return }
        let credentials = AWSCredentials(accessKeyID: "AKIATESTKEY000000001", secretAccessKey: "testsecret-0123456789",
                                         sessionToken: "FwoGZXIvYXdzEJr//////////wEaDK+token=")
        let signer = SigV4Signer(credentials: credentials, region: "eu-west-1", service: "s3", normalizePath: false)
        let key = "/bucket/dir//a b+c=ü(1).json"
        let body = Array("{\"x\":1}".utf8)
        let payloadHash = unsignedPayload ? SigV4Signer.unsignedPayload : Hex.encode(Digest.sha256.hash(body))
        let date = UnixTime(seconds: 1_700_000_000)
        let signed = signer.signHeaders(method: "PUT", path: key, query: [("x-id", "PutObject")],
                                        headers: [("Host", "127.0.0.1:9900"), ("Content-Type", "application/json")],
                                        payloadHash: payloadHash, date: date, addContentSHA256Header: true)
        let script = #"""
import json, sys, datetime
import botocore.auth
from botocore.auth import S3SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
r = json.load(sys.stdin)
botocore.auth.get_current_datetime = lambda: datetime.datetime(2023, 11, 14, 22, 13, 20)
req = AWSRequest(method="PUT", url=r["url"], data=bytes(r["body"]),
                 headers={"Content-Type": "application/json", "x-amz-content-sha256": r["payload"]})
from botocore.config import Config
req.context["client_config"] = Config(s3={"payload_signing_enabled": r["payload"] != "UNSIGNED-PAYLOAD"})
S3SigV4Auth(Credentials(r["ak"], r["sk"], r["token"]), "s3", "eu-west-1").add_auth(req)
assert req.headers["x-amz-content-sha256"] == r["payload"], req.headers["x-amz-content-sha256"]
print(req.headers["Authorization"])
"""#
        let url = "http://127.0.0.1:9900" + SigV4Signer.encodePath(key) + "?x-id=PutObject"
        let input: [String: Any] = ["url": url, "body": body.map { Int($0) }, "payload": payloadHash,
                                    "ak": credentials.accessKeyID, "sk": credentials.secretAccessKey,
                                    "token": credentials.sessionToken!]
        let result = try await Run.program("/usr/bin/env", ["python3", "-c", script],
                                     input: try JSONSerialization.data(withJSONObject: input))
        try #require(result.status == 0, "\(result.stderr)")
        let authorization = signed.headers.first { $0.name == "Authorization" }?.value
        #expect(authorization == result.stdout.trimmingCharacters(in: .whitespacesAndNewlines), "\(signed.canonicalRequest)")
        #expect(signed.headers.map(\.name) == ["X-Amz-Security-Token", "X-Amz-Date", "x-amz-content-sha256", "Authorization"])
    }

    func botocoreAvailable() async -> Bool {
        if (try? await Run.program("/usr/bin/env", ["python3", "-c", "import botocore"]).status) == 0 { return true }
        if TestEnv.isCI { Issue.record("python3 with botocore is required") } else { print("skipping: botocore missing") }
        return false
    }

    @Test func credentialsFromEnvironmentAndRedaction() {
        #expect(AWSCredentials.fromEnvironment([:]) == nil)
        #expect(AWSCredentials.fromEnvironment(["AWS_ACCESS_KEY_ID": "AKID"]) == nil)
        let c = AWSCredentials.fromEnvironment(["AWS_ACCESS_KEY_ID": "AKID", "AWS_SECRET_ACCESS_KEY": "s3cr3t",
                                                "AWS_SESSION_TOKEN": "tok3n"])
        #expect(c == AWSCredentials(accessKeyID: "AKID", secretAccessKey: "s3cr3t", sessionToken: "tok3n"))
        let text = "\(c!) \(String(reflecting: c!))"
        #expect(text.contains("AKID"))
        #expect(!text.contains("s3cr3t") && !text.contains("tok3n"))
        var dumped = ""
        dump(c!, to: &dumped)
        #expect(!dumped.contains("s3cr3t") && !dumped.contains("tok3n"))
        #expect(AWSCredentials.regionFromEnvironment(["AWS_DEFAULT_REGION": "eu-west-1"]) == "eu-west-1")
        #expect(AWSCredentials.regionFromEnvironment(["AWS_REGION": "us-east-2", "AWS_DEFAULT_REGION": "eu-west-1"]) == "us-east-2")
        #expect(AWSCredentials.regionFromEnvironment([:]) == nil)
    }
}

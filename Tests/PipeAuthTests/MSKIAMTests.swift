import Foundation
import PipeAuth
import PipeTestSupport
import WireCore
import Testing

@Suite struct MSKIAMTests {
    static let date = UnixTime(seconds: 1_700_000_000)  // 2023-11-14T22:13:20Z

    func payload(token: String?) async throws -> [String: String] {
        let credentials = AWSCredentials(accessKeyID: "AKIAIOSFODNN7EXAMPLE",
                                         secretAccessKey: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", sessionToken: token)
        let bytes = MSKIAM.authPayload(host: "b-1.mycluster.abc123.c2.kafka.eu-west-1.amazonaws.com",
                                       credentials: credentials, region: "eu-west-1", date: Self.date,
                                       userAgent: "kafka-pipe/test")
        return try #require(try JSONSerialization.jsonObject(with: Data(bytes)) as? [String: String])
    }

    @Test func payloadFields() async throws {
        let p = try await payload(token: nil)
        #expect(p["version"] == "2020_10_22")
        #expect(p["host"] == "b-1.mycluster.abc123.c2.kafka.eu-west-1.amazonaws.com")
        #expect(p["user-agent"] == "kafka-pipe/test")
        #expect(p["action"] == "kafka-cluster:Connect")
        #expect(p["x-amz-algorithm"] == "AWS4-HMAC-SHA256")
        #expect(p["x-amz-credential"] == "AKIAIOSFODNN7EXAMPLE/20231114/eu-west-1/kafka-cluster/aws4_request")
        #expect(p["x-amz-date"] == "20231114T221320Z")
        #expect(p["x-amz-signedheaders"] == "host")
        #expect(p["x-amz-expires"] == "900")
        #expect(p["x-amz-signature"]?.count == 64)
        #expect(p["x-amz-security-token"] == nil)
        #expect(p.count == 10)
        let withToken = try await payload(token: "IQoJb3JpZ2luX2VjE//token+/=")
        #expect(withToken["x-amz-security-token"] == "IQoJb3JpZ2luX2VjE//token+/=")
        #expect(withToken["x-amz-signature"] != p["x-amz-signature"])
    }

    @Test func payloadKeyOrder() async throws {
        let credentials = AWSCredentials(accessKeyID: "AK", secretAccessKey: "SK", sessionToken: "T")
        let text = String(decoding: MSKIAM.authPayload(host: "h", credentials: credentials, region: "r", date: Self.date),
                          as: UTF8.self)
        let keys = ["version", "host", "user-agent", "action", "x-amz-algorithm", "x-amz-credential", "x-amz-date",
                    "x-amz-signedheaders", "x-amz-expires", "x-amz-signature", "x-amz-security-token"]
        let positions = keys.map { text.range(of: "\"\($0)\":")?.lowerBound }
        #expect(positions.allSatisfy { $0 != nil })
        #expect(positions.compactMap { $0 } == positions.compactMap { $0 }.sorted())
        #expect(text.hasPrefix("{\"version\":\"2020_10_22\",\"host\":\"h\",\"user-agent\":\"kafka-pipe\""))
    }

    /// botocore's SigV4QueryAuth presigns the same `GET /?Action=kafka-cluster%3AConnect` for
    /// service kafka-cluster; its signature must equal ours, with and without a session token.
    @Test(arguments: [nil, "IQoJb3JpZ2luX2VjE//token+/="] as [String?])
    func signatureMatchesBotocore(token: String?) async throws {
        guard (try? await Run.program("/usr/bin/env", ["python3", "-c", "import botocore"]).status) == 0 else {
            if TestEnv.isCI { Issue.record("python3 with botocore is required") } else { print("skipping: botocore missing") }
            return
        }
        let p = try await payload(token: token)
        let script = #"""
import json, sys, datetime
from urllib.parse import urlsplit, parse_qs
import botocore.auth
from botocore.auth import SigV4QueryAuth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
p = json.load(sys.stdin)
botocore.auth.get_current_datetime = lambda: datetime.datetime(2023, 11, 14, 22, 13, 20)
req = AWSRequest(method="GET", url="https://" + p["host"] + "/?Action=kafka-cluster%3AConnect")
creds = Credentials("AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", p.get("x-amz-security-token"))
SigV4QueryAuth(creds, "kafka-cluster", "eu-west-1", expires=900).add_auth(req)
q = {k: v[0] for k, v in parse_qs(urlsplit(req.url).query).items()}
for k in ["X-Amz-Credential", "X-Amz-Date", "X-Amz-SignedHeaders", "X-Amz-Expires"]:
    assert q[k] == p[k.lower()], (k, q[k], p[k.lower()])
print(q["X-Amz-Signature"])
"""#
        let result = try await Run.program("/usr/bin/env", ["python3", "-c", script],
                                     input: try JSONSerialization.data(withJSONObject: p))
        try #require(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == p["x-amz-signature"])
    }

    @Test func jsonEscaping() async throws {
        let credentials = AWSCredentials(accessKeyID: "AK", secretAccessKey: "SK")
        let bytes = MSKIAM.authPayload(host: "h", credentials: credentials, region: "r", date: Self.date,
                                       userAgent: "a\"b\\c\n\u{1}")
        let object = try #require(try JSONSerialization.jsonObject(with: Data(bytes)) as? [String: String])
        #expect(object["user-agent"] == "a\"b\\c\n\u{1}")
    }
}

import Foundation
import PipeTestSupport
import Testing

/// A throwaway PKI made with the `openssl` command: a CA, a second unrelated CA, a server
/// certificate for `localhost`/127.0.0.1, an expired one, and a client certificate.
struct TestCertificates: Sendable {
    let dir: URL
    var caFile: String { path("ca.pem") }
    var otherCAFile: String { path("other-ca.pem") }
    var serverCert: String { path("server.pem") }
    var serverKey: String { path("server.key") }
    var expiredCert: String { path("expired.pem") }
    var expiredKey: String { path("expired.key") }
    var clientCert: String { path("client.pem") }
    var clientKey: String { path("client.key") }

    func path(_ name: String) -> String { dir.appendingPathComponent(name).path }

    /// Made once per test process, by whichever test asks first.
    static let shared = Task<TestCertificates, any Error> { try await make() }

    static func get() async throws -> TestCertificates { try await shared.value }

    static func make() async throws -> TestCertificates {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("kp-tls-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let script = #"""
set -euo pipefail
key() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null; }
key ca.key; key other-ca.key; key server.key; key expired.key; key client.key
openssl req -x509 -new -key ca.key -out ca.pem -days 30 -subj /CN=kafka-pipe-test-ca
openssl req -x509 -new -key other-ca.key -out other-ca.pem -days 30 -subj /CN=kafka-pipe-other-ca
printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\nbasicConstraints=CA:FALSE\n' > server.ext
printf 'extendedKeyUsage=clientAuth\nbasicConstraints=CA:FALSE\n' > client.ext
openssl req -new -key server.key -out server.csr -subj /CN=localhost
openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out server.pem -days 30 -extfile server.ext 2>/dev/null
openssl req -new -key client.key -out client.csr -subj /CN=kafka-pipe-client
openssl x509 -req -in client.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out client.pem -days 30 -extfile client.ext 2>/dev/null
# An expired certificate needs explicit dates: `openssl ca` takes them.
openssl req -new -key expired.key -out expired.csr -subj /CN=localhost
touch index.txt; echo 1000 > serial
cat > ca.cnf <<'CNF'
[ca]
default_ca = d
[d]
database = index.txt
new_certs_dir = .
serial = serial
default_md = sha256
policy = p
[p]
commonName = supplied
CNF
openssl ca -batch -config ca.cnf -cert ca.pem -keyfile ca.key -in expired.csr -out expired.pem \
  -startdate 20200101000000Z -enddate 20200201000000Z -extfile server.ext -notext 2>/dev/null
"""#
        let result = try await Run.program("/bin/bash", ["-c", script], cwd: dir)
        guard result.status == 0 else {
            throw CertificateError(message: "openssl failed: \(result.stderr)")
        }
        return TestCertificates(dir: dir)
    }

    struct CertificateError: Error, CustomStringConvertible {
        var message: String
        var description: String { message }
    }
}

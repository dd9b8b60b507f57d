import Foundation
import PipeTestSupport
import Testing

/// Checks that every local service started by `scripts/services/start-all.sh` is there and usable,
/// each through an independent cross-check client (kcat, psql, clickhouse-client, curl, boto3), so
/// that a failing integration test elsewhere is not a missing or misconfigured peer.
@Suite("Local services")
struct ServicesTests {
    /// The variable's value; records an issue under CI when it is missing, else skips with a message.
    private func env(_ name: String) -> String? {
        TestEnv.require(name) { Issue.record(Comment(rawValue: $0)) }
    }

    /// Runs a program found on PATH.
    private func run(_ program: String, _ arguments: [String], input: String? = nil,
                     environment: [String: String]? = nil, timeout: TimeInterval = 60) throws -> ProcessResult {
        try Run.program("/usr/bin/env", [program] + arguments, input: input.map { Data($0.utf8) },
                        environment: environment, timeout: timeout)
    }

    private func brokerNames(kcat: String, _ arguments: [String]) throws -> [String] {
        let r = try Run.program(kcat, arguments + ["-L", "-J", "-m", "15"], timeout: 60)
        #expect(r.status == 0, "kcat -L failed: \(r.stderr)")
        guard r.status == 0,
              let json = try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any],
              let brokers = json["brokers"] as? [[String: Any]] else { return [] }
        return brokers.compactMap { $0["name"] as? String }.sorted()
    }

    // MARK: The scripts themselves

    @Test func aStartRefusesAPortHeldByAnotherProgram() throws {
        guard let s3 = env("KP_S3"), let port = URL(string: s3)?.port else { return }
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent(TestEnv.unique("svc_state"))
        let services = TestEnv.repoRoot.appendingPathComponent("scripts/services")
        defer {
            // Should the check fail to refuse, stop what it started (by its recorded pid) and clean up.
            _ = try? Run.program("/bin/bash", [services.appendingPathComponent("stop-all.sh").path, "--wipe"],
                                 environment: ["KP_SERVICES_DIR": dir.path, "KP_BIN_DIR": dir.path + "/bin"])
            try? FileManager.default.removeItem(at: dir)
        }
        let script = services.appendingPathComponent("s3.sh").path
        // Another state folder: the moto that holds the port is not its own.
        let r = try Run.program("/bin/bash", [script], environment: [
            "KP_SERVICES_DIR": dir.path, "KP_S3_PORT": "\(port)", "KP_AUTO_PORTS": "0",
        ], timeout: 60)
        #expect(r.status != 0)
        #expect(r.stderr.contains("port \(port) (KP_S3_PORT"), "\(r.stderr)")
        #expect(!FileManager.default.fileExists(atPath: dir.appendingPathComponent("s3/moto.pid").path))
    }

    // MARK: Kafka

    @Test func kafkaPlaintextProducesAndConsumes() throws {
        guard let kcat = env("KP_KCAT"), let kafka = env("KP_KAFKA") else { return }
        #expect(try brokerNames(kcat: kcat, ["-b", kafka]) == [kafka])
        let topic = TestEnv.unique("svc_plain")
        let produce = try Run.program(kcat, ["-b", kafka, "-P", "-t", topic, "-p", "0", "-K", ":"],
                                      input: Data("k1:one\nk2:two\nk3:three\n".utf8))
        #expect(produce.status == 0, "produce failed: \(produce.stderr)")
        let consume = try Run.program(kcat, ["-b", kafka, "-C", "-t", topic, "-p", "0", "-o", "beginning", "-e", "-q",
                                             "-f", "%k=%s\\n"])
        #expect(consume.status == 0, "consume failed: \(consume.stderr)")
        #expect(consume.stdout.split(separator: "\n") == ["k1=one", "k2=two", "k3=three"])
    }

    @Test func kafkaTLSVerifiesAgainstTheTestCA() throws {
        guard let kcat = env("KP_KCAT"), let tls = env("KP_KAFKA_TLS"), let ca = env("KP_KAFKA_TLS_CA"),
              let otherCA = env("KP_TLS_OTHER_CA") else { return }
        let ssl = ["-b", tls, "-X", "security.protocol=SSL", "-X", "ssl.ca.location=\(ca)"]
        // The broker behind stunnel advertises the TLS address, so clients stay on TLS.
        #expect(try brokerNames(kcat: kcat, ssl) == [tls])
        let topic = TestEnv.unique("svc_tls")
        let produce = try Run.program(kcat, ssl + ["-P", "-t", topic, "-p", "0"], input: Data("a\nb\n".utf8))
        #expect(produce.status == 0, "produce over TLS failed: \(produce.stderr)")
        let consume = try Run.program(kcat, ssl + ["-C", "-t", topic, "-p", "0", "-o", "beginning", "-e", "-q"])
        #expect(consume.stdout.split(separator: "\n") == ["a", "b"])
        // A client that trusts another CA refuses the server certificate.
        let wrong = try Run.program(kcat, ["-b", tls, "-X", "security.protocol=SSL", "-X", "ssl.ca.location=\(otherCA)",
                                           "-L", "-m", "5"], timeout: 60)
        #expect(wrong.status != 0)
        #expect(wrong.stderr.contains("certificate verify failed"), "\(wrong.stderr)")
    }

    @Test func kafkaMutualTLSRequiresAClientCertificateFromTheCA() throws {
        guard let kcat = env("KP_KCAT"), let mtls = env("KP_KAFKA_MTLS"), let ca = env("KP_KAFKA_TLS_CA"),
              let cert = env("KP_TLS_CLIENT_CERT"), let key = env("KP_TLS_CLIENT_KEY"),
              let otherCert = env("KP_TLS_OTHER_CLIENT_CERT"), let otherKey = env("KP_TLS_OTHER_CLIENT_KEY")
        else { return }
        let ssl = ["-b", mtls, "-X", "security.protocol=SSL", "-X", "ssl.ca.location=\(ca)"]
        let without = try Run.program(kcat, ssl + ["-L", "-m", "5"], timeout: 60)
        #expect(without.status != 0, "mTLS listener accepted a client without a certificate")
        let foreign = try Run.program(kcat, ssl + ["-X", "ssl.certificate.location=\(otherCert)",
                                                   "-X", "ssl.key.location=\(otherKey)", "-L", "-m", "5"], timeout: 60)
        #expect(foreign.status != 0, "mTLS listener accepted a certificate from another CA")
        let with = ssl + ["-X", "ssl.certificate.location=\(cert)", "-X", "ssl.key.location=\(key)"]
        #expect(try brokerNames(kcat: kcat, with) == [mtls])
    }

    @Test func kafkaMockClusterHasThreeBrokers() throws {
        guard let kcat = env("KP_KCAT"), let mock = env("KP_KAFKA_MOCK") else { return }
        let bootstrap = mock.split(separator: ",").map(String.init).sorted()
        #expect(bootstrap.count == 3)
        #expect(try brokerNames(kcat: kcat, ["-b", mock]) == bootstrap)
    }

    // MARK: PostgreSQL

    private struct PgTarget {
        var host: String
        var port: Int
        var major: Int
    }

    private func pgTarget(_ variable: String, major: Int) -> PgTarget? {
        guard let raw = env(variable) else { return nil }
        guard let url = URL(string: raw), let host = url.host, let port = url.port else {
            Issue.record("\(variable) is not a postgres:// URL with host and port: \(raw)")
            return nil
        }
        return PgTarget(host: host, port: port, major: major)
    }

    /// psql -tA with a libpq connection string; the password goes through PGPASSWORD.
    private func psql(_ target: PgTarget, user: String, password: String?, extra: String = "",
                      _ sql: String) throws -> ProcessResult {
        let conninfo = "host=\(target.host) port=\(target.port) user=\(user) dbname=postgres \(extra)"
        var environment = ["PGCONNECT_TIMEOUT": "10"]
        if let password { environment["PGPASSWORD"] = password }
        return try run("psql", ["-X", "-q", "-t", "-A", "-v", "ON_ERROR_STOP=1", conninfo, "-c", sql],
                       environment: environment)
    }

    @Test(arguments: [("KP_PG15", 15), ("KP_PG18", 18)])
    func postgresOverVerifiedTLS(variable: String, major: Int) throws {
        guard let target = pgTarget(variable, major: major), let ca = env("KP_PG_CA"),
              let otherCA = env("KP_TLS_OTHER_CA") else { return }
        let verified = "sslmode=verify-full sslrootcert=\(ca)"
        let r = try psql(target, user: "postgres", password: "postgres", extra: verified,
                         "SELECT current_setting('server_version_num')::int / 10000, current_setting('wal_level')")
        #expect(r.status == 0, "psql verify-full failed: \(r.stderr)")
        #expect(r.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "\(major)|logical")
        // The certificate names localhost too.
        let byName = try run("psql", ["-X", "-tAc", "SELECT 1",
                                      "host=localhost port=\(target.port) user=postgres dbname=postgres \(verified)"],
                             environment: ["PGPASSWORD": "postgres"])
        #expect(byName.status == 0, "verify-full by the name localhost failed: \(byName.stderr)")
        let untrusted = try psql(target, user: "postgres", password: "postgres",
                                 extra: "sslmode=verify-full sslrootcert=\(otherCA)", "SELECT 1")
        #expect(untrusted.status != 0, "a client trusting another CA accepted the server")
        if major == 15 {
            // PostgreSQL 15 terminates TLS itself (18's build has no OpenSSL and sits behind a TLS front).
            let ssl = try psql(target, user: "postgres", password: "postgres", extra: verified,
                               "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()")
            #expect(ssl.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "t")
        }
    }

    @Test(arguments: [("KP_PG15", 15), ("KP_PG18", 18)])
    func postgresTestRolesAndAuthMethods(variable: String, major: Int) throws {
        guard let target = pgTarget(variable, major: major), let users = env("KP_PG_USERS") else { return }
        var checked = 0
        for entry in users.split(separator: " ") {
            let parts = entry.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
            guard parts.count == 3 else { Issue.record("bad KP_PG_USERS entry \(entry)"); continue }
            let (user, password, method) = (parts[0], parts[1], parts[2])
            if method == "cert" { continue }  // covered by postgresClientCertificate
            let ok = try psql(target, user: user, password: password.isEmpty ? nil : password, "SELECT current_user")
            #expect(ok.status == 0, "\(user) (\(method)) could not log in: \(ok.stderr)")
            #expect(ok.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == user)
            if method != "trust" {
                let bad = try psql(target, user: user, password: "not-the-password", "SELECT 1")
                #expect(bad.status != 0, "\(user) (\(method)) accepted a wrong password")
            }
            checked += 1
        }
        #expect(checked >= 5)
        // The replication role can create and drop a logical slot.
        guard let cdc = env("KP_PG_CDC_USER"), let cdcPassword = env("KP_PG_CDC_PASSWORD") else { return }
        let slot = TestEnv.unique("svc_slot")
        let r = try psql(target, user: cdc, password: cdcPassword,
                         "SELECT slot_name FROM pg_create_logical_replication_slot('\(slot)', 'pgoutput'); SELECT pg_drop_replication_slot('\(slot)')")
        #expect(r.status == 0, "cdc could not create a logical slot: \(r.stderr)")
        #expect(r.stdout.contains(slot))
    }

    /// PostgreSQL 18's TLS front (scripts/tools/pg_tls_proxy.py) speaks the start of the protocol itself:
    /// GSSENCRequest -> 'N', SSLRequest -> 'S' then TLS, and direct TLS with ALPN "postgresql".
    @Test func postgres18TLSFrontNegotiation() throws {
        guard let target = pgTarget("KP_PG18", major: 18), let python = env("KP_PYTHON"),
              let ca = env("KP_PG_CA") else { return }
        let script = """
            import socket, ssl, struct, sys
            host, port, ca = sys.argv[1], int(sys.argv[2]), sys.argv[3]
            ctx = ssl.create_default_context(cafile=ca)
            ctx.set_alpn_protocols(["postgresql"])
            body = struct.pack("!i", 196608) + b"user\\0postgres\\0database\\0postgres\\0\\0"
            startup = struct.pack("!i", len(body) + 4) + body
            raw = socket.create_connection((host, port), timeout=20)
            raw.sendall(struct.pack("!ii", 8, 80877104))
            print("gssenc", raw.recv(1).decode())
            raw.sendall(struct.pack("!ii", 8, 80877103))
            print("ssl", raw.recv(1).decode())
            tls = ctx.wrap_socket(raw, server_hostname="localhost")
            tls.sendall(startup)
            print("negotiated", tls.recv(1).decode())
            direct = ctx.wrap_socket(socket.create_connection((host, port), timeout=20), server_hostname="localhost")
            direct.sendall(startup)
            print("direct", direct.selected_alpn_protocol(), direct.recv(1).decode())
            """
        let r = try Run.program(python, ["-c", script, target.host, "\(target.port)", ca], timeout: 60)
        #expect(r.status == 0, "\(r.stderr)")
        // 'R' is the server's authentication request: the startup message reached PostgreSQL.
        #expect(r.stdout.split(separator: "\n") == ["gssenc N", "ssl S", "negotiated R", "direct postgresql R"])
    }

    @Test func postgresClientCertificate() throws {
        guard let target = pgTarget("KP_PG15", major: 15), let ca = env("KP_PG_CA"),
              let cert = env("KP_TLS_CLIENT_CERT"), let key = env("KP_TLS_CLIENT_KEY") else { return }
        // libpq refuses a key file readable by others; use a private copy.
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent(TestEnv.unique("svc_pgcert"))
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let keyCopy = dir.appendingPathComponent("client.key")
        try FileManager.default.copyItem(atPath: key, toPath: keyCopy.path)
        try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: keyCopy.path)
        let tls = "sslmode=verify-full sslrootcert=\(ca)"
        let with = try psql(target, user: "certuser", password: nil,
                            extra: "\(tls) sslcert=\(cert) sslkey=\(keyCopy.path)", "SELECT current_user")
        #expect(with.status == 0, "cert auth failed: \(with.stderr)")
        #expect(with.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "certuser")
        let without = try psql(target, user: "certuser", password: nil,
                               extra: "\(tls) sslcert=/nonexistent sslkey=/nonexistent", "SELECT 1")
        #expect(without.status != 0, "cert auth accepted a client without a certificate")
    }

    // MARK: ClickHouse and ZooKeeper

    @Test func clickhouseAnswersNativeAndHTTPAndReplicates() throws {
        guard let ch = env("KP_CH"), let http = env("KP_CH_HTTP"), let user = env("KP_CH_USER"),
              let password = env("KP_CH_PASSWORD") else { return }
        let hostPort = ch.split(separator: ":").map(String.init)
        #expect(hostPort.count == 2)
        guard hostPort.count == 2 else { return }
        let client = ["--host", hostPort[0], "--port", hostPort[1]]
        let one = try run("clickhouse-client", client + ["-q", "SELECT 1"])
        #expect(one.status == 0, "clickhouse-client failed: \(one.stderr)")
        #expect(one.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "1")
        let asUser = try run("clickhouse-client", client + ["--user", user, "--password", password, "-q", "SELECT 40 + 2"])
        #expect(asUser.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "42", "\(asUser.stderr)")
        let wrong = try run("clickhouse-client", client + ["--user", user, "--password", "wrong", "-q", "SELECT 1"])
        #expect(wrong.status != 0)
        let overHTTP = try run("curl", ["-sS", "--max-time", "20", "\(http)/?query=SELECT%20version()"])
        #expect(overHTTP.stdout.hasPrefix("18."), "HTTP: \(overHTTP.stdout) \(overHTTP.stderr)")
        // A replicated table needs ZooKeeper; inserting the same block twice keeps it once.
        let table = TestEnv.unique("svc_rep")
        let ddl = "CREATE TABLE default.\(table) (id UInt64) ENGINE = ReplicatedMergeTree('/clickhouse/tables/{shard}/\(table)', '{replica}') ORDER BY id"
        let created = try run("clickhouse-client", client + ["-q", ddl])
        #expect(created.status == 0, "ReplicatedMergeTree: \(created.stderr)")
        for _ in 0..<2 {
            let ins = try run("clickhouse-client", client + ["-q", "INSERT INTO default.\(table) VALUES (1), (2), (3)"])
            #expect(ins.status == 0, "\(ins.stderr)")
        }
        let count = try run("clickhouse-client", client + ["-q", "SELECT count() FROM default.\(table)"])
        #expect(count.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "3")
        _ = try run("clickhouse-client", client + ["-q", "DROP TABLE IF EXISTS default.\(table)"])
    }

    @Test func zookeeperAnswersRuok() throws {
        guard let zk = env("KP_ZK") else { return }
        let hostPort = zk.split(separator: ":").map(String.init)
        guard hostPort.count == 2 else { Issue.record("KP_ZK is not host:port: \(zk)"); return }
        let r = try Run.shell("exec 3<>/dev/tcp/\(hostPort[0])/\(hostPort[1]) && printf ruok >&3 && timeout 10 cat <&3",
                              timeout: 30)
        #expect(r.stdout == "imok", "ZooKeeper: \(r.stdout) \(r.stderr)")
    }

    // MARK: S3

    @Test func s3ChecksSignatures() throws {
        guard let python = env("KP_PYTHON"), let s3 = env("KP_S3"), let key = env("KP_S3_KEY"),
              let secret = env("KP_S3_SECRET") else { return }
        let script = """
            import sys, boto3
            from botocore.config import Config
            from botocore.exceptions import ClientError
            url, key, secret, bucket = sys.argv[1:5]
            def client(k, s):
                return boto3.client("s3", endpoint_url=url, aws_access_key_id=k, aws_secret_access_key=s,
                                    region_name="us-east-1", config=Config(s3={"addressing_style": "path"},
                                    retries={"max_attempts": 1}))
            good = client(key, secret)
            good.create_bucket(Bucket=bucket)
            good.put_object(Bucket=bucket, Key="dir/a+b=c (1).txt", Body=b"hello")
            print("listed", bucket in [b["Name"] for b in good.list_buckets()["Buckets"]])
            print("keys", [o["Key"] for o in good.list_objects_v2(Bucket=bucket, Prefix="dir/")["Contents"]])
            print("body", good.get_object(Bucket=bucket, Key="dir/a+b=c (1).txt")["Body"].read().decode())
            for name, k, s in (("wrong-secret", key, secret + "x"), ("unknown-key", "AKIAUNKNOWNKEY000000", secret)):
                try:
                    client(k, s).list_buckets()
                    print(name, "accepted")
                except ClientError as e:
                    print(name, e.response["Error"]["Code"])
            """
        let bucket = TestEnv.unique("svc-bucket").replacingOccurrences(of: "_", with: "-")
        let r = try Run.program(python, ["-c", script, s3, key, secret, bucket], timeout: 120)
        #expect(r.status == 0, "boto3 failed: \(r.stderr)")
        let lines = r.stdout.split(separator: "\n").map(String.init)
        #expect(lines == [
            "listed True",
            "keys ['dir/a+b=c (1).txt']",
            "body hello",
            "wrong-secret SignatureDoesNotMatch",
            "unknown-key InvalidAccessKeyId",
        ])
    }
}

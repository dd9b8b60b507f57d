import Foundation
import Testing
import PipeTestSupport
#if canImport(Glibc)
import Glibc
#endif

/// The shipped binary (`scripts/build-static.sh`, which `scripts/test.sh` runs and exports as
/// `KP_STATIC_BINARY`): one static executable that runs in an empty root holding nothing but itself,
/// `/etc/hosts` and a configuration, with `/proc` mounted as every container runtime does (the Swift
/// runtime of a static executable finds its own path through `/proc/self/exe`).
@Suite(.serialized) struct StaticBinaryTests {
    // The issue's bound: under 25 MB stripped (~23.6 MB: no Foundation, no argument-parsing library).
    static let maxStrippedBytes = 25_000_000
    static let maxIdleRSSKiB = 30 * 1024

    static func staticBinary() -> String? {
        TestEnv.require("KP_STATIC_BINARY") { Issue.record(Comment(rawValue: $0)) }
    }

    /// A root folder with only the binary, /etc/hosts, `config` and a mounted /proc
    /// (`removeRoot` unmounts it and deletes the folder).
    static func emptyRoot(binary: String, config: String) async throws -> URL {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent(TestEnv.unique("kp-chroot"))
        try FileManager.default.createDirectory(at: root.appendingPathComponent("etc"), withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: binary, toPath: root.appendingPathComponent("kafka-pipe").path)
        try "127.0.0.1 localhost\n::1 localhost\n".write(to: root.appendingPathComponent("etc/hosts"),
                                                         atomically: true, encoding: .utf8)
        try config.write(to: root.appendingPathComponent("config.yaml"), atomically: true, encoding: .utf8)
        let proc = root.appendingPathComponent("proc")
        try FileManager.default.createDirectory(at: proc, withIntermediateDirectories: true)
        let mounted = try await Run.program("/bin/mount", ["-t", "proc", "proc", proc.path])
        #expect(mounted.status == 0, "mount /proc in the empty root: \(mounted.stderr)")
        return root
    }

    static func removeRoot(_ root: URL) {
        // Never delete through a /proc that is still mounted.
        guard Run.blocking("/bin/umount", ["-l", root.appendingPathComponent("proc").path]) == 0 else { return }
        try? FileManager.default.removeItem(at: root)
    }

    /// `host:port` of an address variable, with 127.0.0.1 written as `localhost` so that the name
    /// is resolved inside the empty root through its /etc/hosts.
    static func viaLocalhost(_ address: String) -> String {
        address.replacingOccurrences(of: "127.0.0.1", with: "localhost")
    }

    @Test func isStaticAndSmall() async throws {
        guard let binary = Self.staticBinary() else { return }
        let file = try await Run.program("/usr/bin/file", ["-b", binary])
        #expect(file.stdout.contains("statically linked") || file.stdout.contains("static-pie linked"), "\(file.stdout)")
        #expect(!file.stdout.contains("dynamically linked"), "\(file.stdout)")
        let size = try #require(try FileManager.default.attributesOfItem(atPath: binary)[.size] as? Int)
        print("static binary: \(size) bytes (\(size / 1024 / 1024) MiB)")
        #expect(size < Self.maxStrippedBytes, "the static binary is \(size) bytes, over 25 MB")
        // No program interpreter, no needed shared libraries.
        let dyn = try await Run.program("/usr/bin/readelf", ["-d", "-l", binary])
        #expect(!dyn.stdout.contains("NEEDED"), "\(dyn.stdout)")
        #expect(!dyn.stdout.contains("Requesting program interpreter"), "\(dyn.stdout)")
    }

    /// `check` in the empty root: it parses the file, resolves `localhost` through /etc/hosts and
    /// reaches Kafka and PostgreSQL.
    @Test func checkRunsInAnEmptyRoot() async throws {
        guard let binary = Self.staticBinary(),
              let kafka = TestEnv.require("KP_KAFKA", onMissingInCI: { Issue.record(Comment(rawValue: $0)) }),
              let pg = TestEnv.require("KP_PG15", onMissingInCI: { Issue.record(Comment(rawValue: $0)) })
        else { return }
        let pgURL = URL(string: pg)!
        let config = """
            name: static
            class: pg.Snapshot
            http:
              listen: ""
            kafka:
              brokers:
                - \(Self.viaLocalhost(kafka))
            pg:
              url: postgres://postgres:${PG_PASSWORD}@localhost:\(pgURL.port ?? 5432)/postgres
              tables:
                - public.t

            """
        let root = try await Self.emptyRoot(binary: binary, config: config)
        defer { Self.removeRoot(root) }
        let version = try await Run.program("/usr/sbin/chroot", [root.path, "/kafka-pipe", "--version"])
        #expect(version.status == 0, "\(version.stdout) \(version.stderr)")
        #expect(version.stdout.contains("kafka-pipe"))
        let r = try await Run.program("/usr/sbin/chroot", [root.path, "/kafka-pipe", "check", "/config.yaml"],
                                      environment: ["PG_PASSWORD": "postgres"])
        #expect(r.status == 0, "\(r.stdout) \(r.stderr)")
        #expect(r.stdout.contains("ok: kafka broker localhost:"), "\(r.stdout)")
        #expect(r.stdout.contains("is reachable"))
        #expect(!r.stdout.contains("FAILED"), "\(r.stdout)")
        #expect(!r.stdout.contains("postgres:postgres@"), "the password was printed")
    }

    /// Started in the empty root and left idle, the process serves /ready and stays under 30 MiB
    /// resident; SIGTERM stops it with status 0 and it wrote its state folder inside the root.
    @Test func idleProcessIsSmallAndStopsCleanly() async throws {
        guard let binary = Self.staticBinary() else { return }
        let port = try await CLI.freePort()
        let config = CLI.sourceConfig(name: "idle", listen: "127.0.0.1:\(port)")
        let root = try await Self.emptyRoot(binary: binary, config: config)
        defer { Self.removeRoot(root) }
        let p = ChildProcess()
        p.executableURL = URL(fileURLWithPath: "/usr/sbin/chroot")
        p.arguments = [root.path, "/kafka-pipe", "/config.yaml"]
        p.environment = ["KP_DEBUG_CONNECTOR": "idle"]
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        try p.run()
        defer { if p.isRunning { kill(p.processIdentifier, SIGKILL) } }
        var ready = false
        for _ in 0..<300 where !ready {
            if let (status, _) = CLI.httpGet(port: port, path: "/ready"), status == 200 { ready = true; break }
            try await Task.sleep(for: .milliseconds(50))
        }
        #expect(ready, "the static binary never became ready in the empty root")
        try await Task.sleep(for: .seconds(2))
        // chroot execs the binary, so the pid is kafka-pipe's own.
        let status = try String(contentsOfFile: "/proc/\(p.processIdentifier)/status", encoding: .utf8)
        let rssLine = try #require(status.split(separator: "\n").first { $0.hasPrefix("VmRSS:") })
        let rssKiB = try #require(Int(rssLine.split(separator: " ", omittingEmptySubsequences: true)[1]))
        print("static binary idle RSS: \(rssKiB) KiB")
        #expect(rssKiB < Self.maxIdleRSSKiB, "idle RSS \(rssKiB) KiB is over 30 MiB")
        let metrics = CLI.httpGet(port: port, path: "/metrics")
        #expect(metrics?.0 == 200)
        kill(p.processIdentifier, SIGTERM)
        for _ in 0..<400 where p.isRunning { try await Task.sleep(for: .milliseconds(50)) }
        #expect(!p.isRunning)
        #expect(p.terminationStatus == 0)
        #expect(FileManager.default.fileExists(atPath: root.appendingPathComponent("data").path))
    }
}

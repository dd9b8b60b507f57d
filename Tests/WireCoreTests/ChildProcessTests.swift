import Foundation
import PipeTestSupport
import Testing

/// The posix_spawn-based child process every test that starts a program goes through.
@Suite struct ChildProcessTests {
    private func capture(_ path: String, _ args: [String], configure: (ChildProcess) -> Void = { _ in }) throws -> (ChildProcess, String) {
        let p = ChildProcess()
        p.executableURL = URL(fileURLWithPath: path)
        p.arguments = args
        let pipe = Pipe()
        p.standardOutput = pipe
        p.standardError = pipe
        configure(p)
        try p.run()
        // EOF arrives only because the parent closed its copy of the write end and no other child holds it.
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return (p, String(decoding: data, as: UTF8.self))
    }

    @Test func exitCodeOutputDirectoryAndEnvironment() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("child-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let (p, out) = try capture("/bin/sh", ["-c", "pwd; echo \"v=$KP_CHILD_TEST\"; echo err >&2; exit 7"]) {
            $0.currentDirectoryURL = dir
            $0.environment = ["KP_CHILD_TEST": "a b", "PATH": "/usr/bin:/bin"]
        }
        #expect(p.terminationReason == .exit)
        #expect(p.terminationStatus == 7)
        #expect(!p.isRunning)
        let lines = out.split(separator: "\n").map(String.init)
        #expect(lines.count == 3)
        #expect(lines.first.map { URL(fileURLWithPath: $0).resolvingSymlinksInPath().path } == dir.resolvingSymlinksInPath().path)
        #expect(lines.contains("v=a b"))
        #expect(lines.contains("err"))
    }

    @Test func inheritsTheEnvironmentWhenNoneIsGiven() throws {
        let (_, out) = try capture("/bin/sh", ["-c", "echo \"$HOME\""])
        #expect(out.trimmingCharacters(in: .whitespacesAndNewlines) == ProcessInfo.processInfo.environment["HOME"] ?? "")
    }

    @Test func onlyTheStandardStreamsAreInherited() throws {
        // An open descriptor of ours (the pipe's read end, and whatever else the runner holds).
        let (_, out) = try capture("/bin/ls", ["/proc/self/fd"])
        let fds = Set(out.split(separator: "\n").compactMap { Int($0) })
        // ls itself opens one descriptor to list the directory.
        #expect(fds.subtracting([0, 1, 2]).count <= 1, "descriptors leaked into the child: \(fds.sorted())")
        #expect(fds.isSuperset(of: [0, 1, 2]))
    }

    @Test func aKilledChildReportsItsSignal() async throws {
        let p = ChildProcess()
        p.executableURL = URL(fileURLWithPath: "/bin/sleep")
        p.arguments = ["30"]
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        let ended = LockedFlag()
        p.terminationHandler = { _ in ended.set() }
        try p.run()
        #expect(p.isRunning)
        #expect(p.processIdentifier > 0)
        kill(p.processIdentifier, SIGKILL)
        p.waitUntilExit()
        #expect(p.terminationReason == .uncaughtSignal)
        #expect(p.terminationStatus == SIGKILL)
        for _ in 0..<100 where !ended.value { try await Task.sleep(for: .milliseconds(10)) }
        #expect(ended.value, "the termination handler was not called")
    }

    @Test func aMissingProgramIsAnErrorNotACrash() {
        let p = ChildProcess()
        p.executableURL = URL(fileURLWithPath: "/nonexistent/kp-no-such-program")
        #expect(throws: ChildProcess.SpawnError.self) { try p.run() }
        #expect(!p.isRunning)
        p.waitUntilExit()  // returns at once: it never started
    }

    /// Run.program returns all of a child's output even when the child exits right after writing it
    /// (the exit can be reported before the last bytes are read: it once lost a psql answer).
    @Test func runProgramKeepsTheLastOutput() async throws {
        for i in 0..<100 {
            let r = try await Run.program("/bin/sh", ["-c", "echo out\(i); echo err\(i) >&2"])
            #expect(r.status == 0)
            #expect(r.stdout == "out\(i)\n")
            #expect(r.stderr == "err\(i)\n")
        }
        let fed = try await Run.program("/bin/cat", [], input: Data(repeating: 0x61, count: 1 << 20))
        #expect(fed.stdout.utf8.count == 1 << 20, "1 MiB through stdin and stdout")
    }

    @Test func standardInputFromAPipe() throws {
        let input = Pipe()
        let (p, out) = try capture("/bin/cat", []) { p in
            p.standardInput = input
            input.fileHandleForWriting.write(Data("fed through stdin\n".utf8))
            try? input.fileHandleForWriting.close()
        }
        #expect(p.terminationStatus == 0)
        #expect(out == "fed through stdin\n")
    }
}

private final class LockedFlag: @unchecked Sendable {
    private let lock = NSLock()
    private var flag = false
    func set() { lock.lock(); flag = true; lock.unlock() }
    var value: Bool { lock.lock(); defer { lock.unlock() }; return flag }
}

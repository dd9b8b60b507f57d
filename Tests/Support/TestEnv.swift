public import Foundation

/// Where the real services are. `scripts/test.sh` exports these (from `.services/env.sh`);
/// a developer can `source .services/env.sh` after `scripts/services/start-all.sh`.
///
/// An integration test calls `TestEnv.require("KP_KAFKA")`: when the variable is missing it
/// returns nil so the test can skip with a message, except under CI (`CI=true`), where a missing
/// service is a failure: CI configures every service, so nothing skips there.
public enum TestEnv {
    public static func value(_ name: String) -> String? {
        guard let v = ProcessInfo.processInfo.environment[name], !v.isEmpty else { return nil }
        return v
    }

    public static var isCI: Bool { value("CI") == "true" || value("CI") == "1" }

    /// The variable's value, or nil (with a printed reason) when it is not set outside CI.
    /// Under CI a missing variable is reported through `onMissingInCI` (use `Issue.record`).
    public static func require(_ name: String, onMissingInCI: (String) -> Void) -> String? {
        if let v = value(name) { return v }
        let message = "\(name) is not set: start the services (scripts/services/start-all.sh; source .services/env.sh)"
        if isCI { onMissingInCI(message) } else { print("skipping: \(message)") }
        return nil
    }

    /// The repository's root folder.
    public static var repoRoot: URL {
        if let r = value("KP_ROOT") { return URL(fileURLWithPath: r) }
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { url.deleteLastPathComponent() }
        return url
    }

    /// `../shared` beside the checkout, when present.
    public static var sharedDir: URL? {
        let u = repoRoot.deletingLastPathComponent().appendingPathComponent("shared")
        return FileManager.default.fileExists(atPath: u.path) ? u : nil
    }

    /// A short unique suffix for topic, table, bucket and slot names.
    public static func unique(_ prefix: String) -> String {
        let r = UInt32.random(in: 0..<UInt32.max)
        return "\(prefix)_\(String(r, radix: 36))"
    }
}

/// Runs a program and captures its output.
public struct ProcessResult: Sendable {
    public var status: Int32
    public var stdout: String
    public var stderr: String
}

public enum Run {
    /// Runs `path` with `arguments`, feeding `input` to standard input; waits at most `timeout` seconds.
    ///
    /// Asynchronous on purpose: the wait for the child happens off Swift's cooperative pool (which has
    /// only as many threads as cores), so tests running in parallel are never starved by a child process.
    @discardableResult
    public static func program(_ path: String, _ arguments: [String], input: Data? = nil,
                               environment: [String: String]? = nil, cwd: URL? = nil,
                               timeout: TimeInterval = 120) async throws -> ProcessResult {
        let p = ChildProcess()
        p.executableURL = URL(fileURLWithPath: path)
        p.arguments = arguments
        if let environment {
            p.environment = ProcessInfo.processInfo.environment.merging(environment) { _, new in new }
        }
        if let cwd { p.currentDirectoryURL = cwd }
        let outPipe = Pipe(), errPipe = Pipe(), inPipe = Pipe()
        p.standardOutput = outPipe
        p.standardError = errPipe
        p.standardInput = inPipe
        // Each stream is read to its end on its own thread: the child's exit can be reported before
        // its last output has been read, and a full pipe must never block the child.
        let out = OutputCollector(outPipe.fileHandleForReading), err = OutputCollector(errPipe.fileHandleForReading)
        let status: Int32 = try await withCheckedThrowingContinuation { continuation in
            p.terminationHandler = { process in continuation.resume(returning: process.terminationStatus) }
            do {
                try p.run()
            } catch {
                p.terminationHandler = nil
                // No child holds the write ends: closing ours ends the readers.
                try? outPipe.fileHandleForWriting.close()
                try? errPipe.fileHandleForWriting.close()
                continuation.resume(throwing: error)
                return
            }
            // Feed standard input from another thread: a large input must not block on a full pipe.
            let writer = inPipe.fileHandleForWriting
            DispatchQueue.global().async {
                // A child may exit without reading all of it: EPIPE is then no error of ours.
                if let input { try? writer.write(contentsOf: input) }
                try? writer.close()
            }
            DispatchQueue.global().asyncAfter(deadline: .now() + timeout) { [p] in
                if p.isRunning { p.terminate() }
            }
        }
        await out.end()
        await err.end()
        return ProcessResult(status: status, stdout: out.text, stderr: err.text)
    }

    /// Runs a program to its end, blocking the calling thread: only for cleanup in `defer` blocks,
    /// where `await` is not possible. Output is discarded.
    @discardableResult
    public static func blocking(_ path: String, _ arguments: [String], environment: [String: String]? = nil) -> Int32 {
        let p = ChildProcess()
        p.executableURL = URL(fileURLWithPath: path)
        p.arguments = arguments
        if let environment {
            p.environment = ProcessInfo.processInfo.environment.merging(environment) { _, new in new }
        }
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        guard (try? p.run()) != nil else { return -1 }
        p.waitUntilExit()
        return p.terminationStatus
    }

    /// Runs a shell command line with bash.
    @discardableResult
    public static func shell(_ command: String, input: Data? = nil, environment: [String: String]? = nil,
                             timeout: TimeInterval = 120) async throws -> ProcessResult {
        try await program("/bin/bash", ["-c", command], input: input, environment: environment, timeout: timeout)
    }
}

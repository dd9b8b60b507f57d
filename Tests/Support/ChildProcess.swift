public import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A child process started with posix_spawn: what the tests use instead of Foundation's `Process`,
/// whose `run()` on Linux intermittently crashes with SIGSEGV (swift-corelibs-foundation PR 5472:
/// it copies whole 256-byte `d_name` fields while listing /proc/self/fd and can read past glibc's
/// buffer). It has the parts of `Process`'s surface the tests use, with the same meanings:
/// standard streams are a `Pipe`, a `FileHandle` (`FileHandle.nullDevice` included) or nil to
/// inherit; `terminationStatus` is the exit code, or the signal for a killed child.
public final class ChildProcess: @unchecked Sendable {
    public enum TerminationReason: Sendable { case exit, uncaughtSignal }

    public var executableURL: URL?
    public var arguments: [String] = []
    /// The child's whole environment; nil inherits this process's.
    public var environment: [String: String]?
    public var currentDirectoryURL: URL?
    public var standardInput: Any?
    public var standardOutput: Any?
    public var standardError: Any?
    /// Called once, on a background thread, when the child has exited.
    public var terminationHandler: (@Sendable (ChildProcess) -> Void)?

    private let state = NSCondition()
    private var pid: pid_t = 0
    private var waitStatus: Int32?

    public init() {}

    public var processIdentifier: Int32 {
        state.lock(); defer { state.unlock() }
        return pid
    }

    public var isRunning: Bool {
        state.lock(); defer { state.unlock() }
        return pid != 0 && waitStatus == nil
    }

    /// The exit code, or the number of the signal that ended the child.
    public var terminationStatus: Int32 {
        guard let status = finishedStatus() else { preconditionFailure("terminationStatus of a child that has not exited") }
        return status & 0x7f == 0 ? (status >> 8) & 0xff : status & 0x7f
    }

    public var terminationReason: TerminationReason {
        guard let status = finishedStatus() else { preconditionFailure("terminationReason of a child that has not exited") }
        return status & 0x7f == 0 ? .exit : .uncaughtSignal
    }

    /// Sends SIGTERM if the child still runs.
    public func terminate() {
        state.lock(); defer { state.unlock() }
        if pid != 0 && waitStatus == nil { kill(pid, SIGTERM) }
    }

    /// Blocks the calling thread until the child has exited (returns at once if it never started).
    public func waitUntilExit() {
        state.lock(); defer { state.unlock() }
        while pid != 0 && waitStatus == nil { state.wait() }
    }

    public struct SpawnError: Error, CustomStringConvertible {
        public let path: String
        public let step: String
        public let code: Int32
        public var description: String { "cannot start \(path): \(step): \(String(cString: strerror(code)))" }
    }

    public func run() throws {
        guard let path = executableURL?.path else { throw SpawnError(path: "(none)", step: "no executable", code: ENOENT) }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        // The child starts with no blocked signals and every handler at its default.
        var none = sigset_t(), all = sigset_t()
        sigemptyset(&none)
        sigfillset(&all)
        posix_spawnattr_setsigmask(&attributes, &none)
        posix_spawnattr_setsigdefault(&attributes, &all)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))

        var parentEnds: [FileHandle] = []
        for (target, stream) in [(Int32(0), standardInput), (1, standardOutput), (2, standardError)] {
            switch stream {
            case nil:
                break
            case let pipe as Pipe:
                let childEnd = target == 0 ? pipe.fileHandleForReading : pipe.fileHandleForWriting
                posix_spawn_file_actions_adddup2(&actions, childEnd.fileDescriptor, target)
                if !parentEnds.contains(where: { $0 === childEnd }) { parentEnds.append(childEnd) }
            case let handle as FileHandle:
                if handle === FileHandle.nullDevice {
                    posix_spawn_file_actions_addopen(&actions, target, "/dev/null", target == 0 ? O_RDONLY : O_WRONLY, 0)
                } else {
                    posix_spawn_file_actions_adddup2(&actions, handle.fileDescriptor, target)
                }
            default:
                throw SpawnError(path: path, step: "standard stream \(target) is neither a Pipe nor a FileHandle", code: EINVAL)
            }
        }
        if let dir = currentDirectoryURL?.path {
            guard Self.addChdir(&actions, dir) == 0 else { throw SpawnError(path: path, step: "chdir \(dir)", code: errno) }
        }
        // Nothing else leaks into the child: a pipe another test holds open would never see EOF.
        _ = Self.addClosefrom(&actions, 3)

        let argv = ([path] + arguments).map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        let env: [UnsafeMutablePointer<CChar>?]? = environment.map { env in
            env.map { strdup("\($0.key)=\($0.value)") } + [nil]
        }
        defer { env?.forEach { free($0) } }

        state.lock()
        var child: pid_t = 0
        let rc: Int32
        if let env {
            rc = env.withUnsafeBufferPointer { e in
                posix_spawn(&child, path, &actions, &attributes, argv, UnsafeMutablePointer(mutating: e.baseAddress!))
            }
        } else {
            rc = posix_spawn(&child, path, &actions, &attributes, argv, environ)
        }
        guard rc == 0 else {
            state.unlock()
            throw SpawnError(path: path, step: "posix_spawn", code: rc)
        }
        pid = child
        state.unlock()
        let spawned = child
        // As Process does: the parent closes its copies of the ends the child now holds.
        for handle in parentEnds { try? handle.close() }

        let thread = Thread { [self] in
            var status: Int32 = 0
            while waitpid(spawned, &status, 0) == -1 && errno == EINTR {}
            state.lock()
            waitStatus = status
            state.broadcast()
            let handler = terminationHandler
            state.unlock()
            handler?(self)
        }
        thread.start()
    }

    private func finishedStatus() -> Int32? {
        state.lock(); defer { state.unlock() }
        return waitStatus
    }

    // glibc's posix_spawn_file_actions_addchdir_np (2.29) and _addclosefrom_np (2.34) are declared
    // only under _GNU_SOURCE, which Swift's Glibc module does not set: looked up at run time.
    private typealias AddChdir = @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, UnsafePointer<CChar>) -> Int32
    private typealias AddClosefrom = @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, Int32) -> Int32
    private nonisolated(unsafe) static let addChdir: AddChdir = {
        guard let sym = dlsym(nil, "posix_spawn_file_actions_addchdir_np") else {
            fatalError("this glibc has no posix_spawn_file_actions_addchdir_np (needs 2.29 or later)")
        }
        return unsafeBitCast(sym, to: AddChdir.self)
    }()
    private nonisolated(unsafe) static let addClosefrom: AddClosefrom = {
        guard let sym = dlsym(nil, "posix_spawn_file_actions_addclosefrom_np") else {
            fatalError("this glibc has no posix_spawn_file_actions_addclosefrom_np (needs 2.34 or later)")
        }
        return unsafeBitCast(sym, to: AddClosefrom.self)
    }()
}

/// Everything a child writes to a pipe, read on a thread of its own until the pipe's end. A child's
/// exit can be seen before its last bytes have been read: `text(of:)` waits for the end once the
/// child has exited, so a check made after the exit sees all of its output.
public final class OutputCollector: @unchecked Sendable {
    private let state = NSCondition()
    private var data = Data()
    private var ended = false
    private var endWaiters: [CheckedContinuation<Void, Never>] = []

    public init(_ handle: FileHandle) {
        let thread = Thread { [self] in
            // read(2) directly: FileHandle's read(upToCount:) waits for the whole count.
            let fd = handle.fileDescriptor
            var buffer = [UInt8](repeating: 0, count: 1 << 16)
            while true {
                let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
                if n < 0 && errno == EINTR { continue }
                if n <= 0 { break }
                state.lock(); data.append(contentsOf: buffer[0..<n]); state.unlock()
            }
            state.lock()
            ended = true
            state.broadcast()
            let waiters = endWaiters
            endWaiters = []
            state.unlock()
            waiters.forEach { $0.resume() }
        }
        thread.start()
    }

    /// Returns once the pipe has ended (every writer closed it), without holding a thread.
    public func end() async {
        await withCheckedContinuation { (done: CheckedContinuation<Void, Never>) in
            state.lock()
            if ended {
                state.unlock()
                done.resume()
            } else {
                endWaiters.append(done)
                state.unlock()
            }
        }
    }

    /// What has arrived so far.
    public var text: String {
        state.lock(); defer { state.unlock() }
        return String(decoding: data, as: UTF8.self)
    }

    /// What has arrived; if `process` has exited, first waits (up to `seconds`) for the pipe's end.
    public func text(of process: ChildProcess, seconds: Double = 5) -> String {
        if !process.isRunning {
            let deadline = Date().addingTimeInterval(seconds)
            state.lock()
            while !ended && state.wait(until: deadline) {}
            state.unlock()
        }
        return text
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

// Thin wrappers over the POSIX calls the store needs. Each retries on EINTR and turns a failure
// into a `StorageError` with the path and errno.

func systemErrorText(_ code: Int32) -> String {
    guard let s = strerror(code) else { return "error \(code)" }
    return String(cString: s)
}

private func currentErrno() -> Int32 { errno }

func ioError(_ what: String, _ path: String, _ code: Int32 = currentErrno()) -> StorageError {
    StorageError(.io, what, path: path, errno: code)
}

enum Posix {
    static func open(_ path: String, _ flags: Int32, mode: mode_t = 0o644) throws -> Int32 {
        while true {
            let fd = Glibc_open(path, flags | O_CLOEXEC, mode)
            if fd >= 0 { return fd }
            if errno == EINTR { continue }
            throw ioError("cannot open", path)
        }
    }

    /// Opens a file if it exists; nil when it does not.
    static func openIfExists(_ path: String, _ flags: Int32) throws -> Int32? {
        while true {
            let fd = Glibc_open(path, flags | O_CLOEXEC, 0)
            if fd >= 0 { return fd }
            if errno == EINTR { continue }
            if errno == ENOENT { return nil }
            throw ioError("cannot open", path)
        }
    }

    static func close(_ fd: Int32) {
        _ = Glibc_close(fd)
    }

    /// Writes all of `bytes` at `offset`.
    static func pwriteAll(_ fd: Int32, _ bytes: UnsafeRawBufferPointer, at offset: Int64, path: String) throws {
        var done = 0
        while done < bytes.count {
            let n = pwrite(fd, bytes.baseAddress! + done, bytes.count - done, off_t(offset + Int64(done)))
            if n < 0 {
                if errno == EINTR { continue }
                throw ioError("cannot write", path)
            }
            if n == 0 { throw StorageError(.io, "write made no progress", path: path) }
            done += n
        }
    }

    /// Reads the whole file from the start.
    static func readAll(_ fd: Int32, path: String) throws -> [UInt8] {
        var st = stat()
        guard fstat(fd, &st) == 0 else { throw ioError("cannot stat", path) }
        var out: [UInt8] = []
        out.reserveCapacity(max(0, Int(st.st_size)))
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        var offset: Int64 = 0
        while true {
            let n = chunk.withUnsafeMutableBytes { pread(fd, $0.baseAddress!, $0.count, off_t(offset)) }
            if n < 0 {
                if errno == EINTR { continue }
                throw ioError("cannot read", path)
            }
            if n == 0 { return out }
            out.append(contentsOf: chunk[0..<n])
            offset += Int64(n)
        }
    }

    static func syncData(_ fd: Int32, path: String) throws {
        while true {
            #if os(Linux)
            let r = fdatasync(fd)
            #else
            let r = fsync(fd)
            #endif
            if r == 0 { return }
            if errno == EINTR { continue }
            throw ioError("fsync failed", path)
        }
    }

    static func syncFull(_ fd: Int32, path: String) throws {
        while true {
            if fsync(fd) == 0 { return }
            if errno == EINTR { continue }
            throw ioError("fsync failed", path)
        }
    }

    /// fsync of a directory, so that a rename or a newly created entry in it is durable.
    static func syncDirectory(_ path: String) throws {
        let fd = try open(path, O_RDONLY | O_DIRECTORY)
        defer { close(fd) }
        try syncFull(fd, path: path)
    }

    static func truncate(_ fd: Int32, to size: Int64, path: String) throws {
        while true {
            if ftruncate(fd, off_t(size)) == 0 { return }
            if errno == EINTR { continue }
            throw ioError("cannot truncate", path)
        }
    }

    static func rename(_ from: String, _ to: String) throws {
        if Glibc_rename(from, to) != 0 { throw ioError("cannot rename to \(to)", from) }
    }

    static func unlinkIfExists(_ path: String) throws {
        if unlink(path) != 0 && errno != ENOENT { throw ioError("cannot remove", path) }
    }

    static func exists(_ path: String) -> Bool {
        var st = stat()
        return stat(path, &st) == 0
    }

    static func isDirectory(_ path: String) -> Bool {
        var st = stat()
        return stat(path, &st) == 0 && (st.st_mode & S_IFMT) == S_IFDIR
    }

    /// mkdir -p.
    static func makeDirectories(_ path: String) throws {
        if isDirectory(path) { return }
        var prefix = path.hasPrefix("/") ? "/" : ""
        for part in path.split(separator: "/") {
            prefix += part
            if !isDirectory(prefix) {
                if mkdir(prefix, 0o755) != 0 && errno != EEXIST { throw ioError("cannot create directory", prefix) }
            }
            prefix += "/"
        }
    }

    /// Takes an exclusive, non-blocking flock. Returns false when another open file holds it.
    static func tryLock(_ fd: Int32, path: String) throws -> Bool {
        while true {
            if flock(fd, LOCK_EX | LOCK_NB) == 0 { return true }
            if errno == EINTR { continue }
            if errno == EWOULDBLOCK || errno == EAGAIN { return false }
            throw ioError("cannot lock", path)
        }
    }

    static var pid: Int32 { Int32(getpid()) }
}

// The module's own `open`/`close`/`rename` names shadow the C functions inside `Posix`.
private func Glibc_open(_ path: String, _ flags: Int32, _ mode: mode_t) -> Int32 { open(path, flags, mode) }
private func Glibc_close(_ fd: Int32) -> Int32 { close(fd) }
private func Glibc_rename(_ a: String, _ b: String) -> Int32 { rename(a, b) }

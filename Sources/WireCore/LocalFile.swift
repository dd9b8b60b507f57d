#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Reading a whole local file (configuration, schemas) without Foundation.
public enum LocalFile {
    public struct ReadError: Error, CustomStringConvertible, Sendable {
        public let path: String
        public let reason: String
        public var description: String { "\(path): \(reason)" }
    }

    /// The file's bytes; files larger than `limit` are refused.
    public static func bytes(_ path: String, limit: Int = 64 << 20) throws(ReadError) -> [UInt8] {
        func failure(_ what: String, _ code: Int32) -> ReadError {
            let text = strerror(code).map { String(cString: $0) } ?? "error \(code)"
            return ReadError(path: path, reason: "\(what): \(text)")
        }
        var fd: Int32
        repeat { fd = open(path, O_RDONLY | O_CLOEXEC) } while fd < 0 && errno == EINTR
        guard fd >= 0 else { throw failure("cannot open", errno) }
        defer { close(fd) }
        var out: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n < 0 {
                if errno == EINTR { continue }
                throw failure("cannot read", errno)
            }
            if n == 0 { return out }
            guard out.count + n <= limit else {
                throw ReadError(path: path, reason: "larger than \(limit) bytes")
            }
            out.append(contentsOf: chunk[0..<n])
        }
    }
}

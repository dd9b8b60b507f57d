// Version and build information printed by `kafka-pipe --version`.
enum BuildInfo {
    static let version = "0.1.0"

    static var swiftVersion: String {
        #if compiler(>=6.4)
        "6.4+"
        #elseif compiler(>=6.3)
        "6.3"
        #elseif compiler(>=6.2)
        "6.2"
        #elseif compiler(>=6.1)
        "6.1"
        #else
        "6.0"
        #endif
    }

    static var os: String {
        #if os(Linux)
        "linux"
        #elseif os(macOS)
        "macos"
        #else
        "unknown-os"
        #endif
    }

    static var arch: String {
        #if arch(x86_64)
        "x86_64"
        #elseif arch(arm64)
        "arm64"
        #else
        "unknown-arch"
        #endif
    }

    static var configuration: String {
        #if DEBUG
        "debug"
        #else
        "release"
        #endif
    }

    /// `kafka-pipe 0.1.0 (Swift 6.3, linux/x86_64, release build)`
    static var text: String {
        "kafka-pipe \(version) (Swift \(swiftVersion), \(os)/\(arch), \(configuration) build)"
    }
}

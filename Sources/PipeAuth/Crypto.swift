internal import COpenSSL

/// Message digests and HMAC through libcrypto's EVP interface.
public enum Digest: Sendable, Hashable, CaseIterable {
    case sha1, sha256, sha512, md5

    /// Output length in bytes.
    public var length: Int {
        switch self {
        case .sha1: 20
        case .sha256: 32
        case .sha512: 64
        case .md5: 16
        }
    }

    var evp: OpaquePointer {
        switch self {
        case .sha1: EVP_sha1()
        case .sha256: EVP_sha256()
        case .sha512: EVP_sha512()
        case .md5: EVP_md5()
        }
    }

    public func hash(_ data: [UInt8]) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: length)
        var outLength: UInt32 = 0
        let ok = withBytes(data) { input, count in
            out.withUnsafeMutableBufferPointer { output in
                EVP_Digest(input, count, output.baseAddress, &outLength, evp, nil)
            }
        }
        // Only fails on allocation failure or a missing provider: both are fatal for a program.
        precondition(ok == 1 && Int(outLength) == length, "EVP_Digest failed")
        return out
    }

    /// `hash` of a string's UTF-8 bytes.
    public func hash(_ text: String) -> [UInt8] { hash(Array(text.utf8)) }

    public func hmac(key: [UInt8], data: [UInt8]) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: length)
        var outLength: UInt32 = 0
        let result = withBytes(key) { k, kCount in
            withBytes(data) { d, dCount in
                out.withUnsafeMutableBufferPointer { o in
                    HMAC(evp, k, Int32(kCount), d, dCount, o.baseAddress, &outLength)
                }
            }
        }
        precondition(result != nil && Int(outLength) == length, "HMAC failed")
        return out
    }
}

/// Calls `body` with a valid pointer even for empty input: libcrypto rejects NULL with length 0
/// in some functions.
func withBytes<R>(_ bytes: [UInt8], _ body: (UnsafePointer<UInt8>, Int) -> R) -> R {
    if bytes.isEmpty {
        var zero: UInt8 = 0
        return withUnsafePointer(to: &zero) { body($0, 0) }
    }
    return bytes.withUnsafeBufferPointer { body($0.baseAddress!, $0.count) }
}

/// PBKDF2 (RFC 8018) through `PKCS5_PBKDF2_HMAC`.
public enum PBKDF2 {
    public static func derive(password: [UInt8], salt: [UInt8], iterations: Int, digest: Digest,
                              length: Int) -> [UInt8] {
        precondition(iterations > 0 && iterations <= Int(Int32.max) && length > 0 && length <= 1 << 20,
                     "PBKDF2 parameters out of range")
        var out = [UInt8](repeating: 0, count: length)
        let ok = withBytes(password) { p, pCount in
            withBytes(salt) { s, sCount in
                out.withUnsafeMutableBufferPointer { o in
                    p.withMemoryRebound(to: CChar.self, capacity: max(pCount, 1)) { pc in
                        PKCS5_PBKDF2_HMAC(pc, Int32(pCount), s, Int32(sCount), Int32(iterations),
                                          digest.evp, Int32(length), o.baseAddress)
                    }
                }
            }
        }
        precondition(ok == 1, "PKCS5_PBKDF2_HMAC failed")
        return out
    }
}

/// Lower-case hexadecimal.
public enum Hex {
    private static let digits: [UInt8] = Array("0123456789abcdef".utf8)

    public static func encode(_ bytes: [UInt8]) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count * 2)
        for b in bytes {
            out.append(digits[Int(b >> 4)])
            out.append(digits[Int(b & 0x0F)])
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// Accepts upper- and lower-case digits; nil for an odd length or a non-hex character.
    public static func decode(_ text: String) -> [UInt8]? {
        let chars = Array(text.utf8)
        guard chars.count % 2 == 0 else { return nil }
        var out: [UInt8] = []
        out.reserveCapacity(chars.count / 2)
        var i = 0
        while i < chars.count {
            guard let hi = value(chars[i]), let lo = value(chars[i + 1]) else { return nil }
            out.append(hi << 4 | lo)
            i += 2
        }
        return out
    }

    private static func value(_ c: UInt8) -> UInt8? {
        switch c {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): c - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): c - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): c - UInt8(ascii: "A") + 10
        default: nil
        }
    }
}

/// Cryptographically secure random bytes (`RAND_bytes`).
public enum SecureRandom {
    public static func bytes(_ count: Int) -> [UInt8] {
        precondition(count >= 0 && count <= Int(Int32.max))
        var out = [UInt8](repeating: 0, count: count)
        if count == 0 { return out }
        let ok = out.withUnsafeMutableBufferPointer { RAND_bytes($0.baseAddress, Int32(count)) }
        precondition(ok == 1, "RAND_bytes failed")
        return out
    }
}

/// Compares in time that depends only on the lengths, for MACs and proofs.
public func constantTimeEqual(_ a: [UInt8], _ b: [UInt8]) -> Bool {
    guard a.count == b.count else { return false }
    var diff: UInt8 = 0
    for i in 0..<a.count { diff |= a[i] ^ b[i] }
    return diff == 0
}

/// The OpenSSL library version, for diagnostics.
public var openSSLVersion: String { String(cString: OpenSSL_version(0)) }

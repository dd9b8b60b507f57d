/// Base64 with the standard alphabet and `=` padding (RFC 4648 §4).
///
/// Decoding is strict: the length must be a multiple of four, padding may only appear at the end
/// (at most two characters), the bits a padded group leaves over must be zero, and no whitespace
/// or characters outside the alphabet are accepted. SCRAM (RFC 5802) and SASL need exactly this.
public enum Base64 {
    private static let alphabet: [UInt8] = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)

    /// 0xFF marks a byte outside the alphabet.
    private static let reverse: [UInt8] = {
        var table = [UInt8](repeating: 0xFF, count: 256)
        for (i, c) in alphabet.enumerated() { table[Int(c)] = UInt8(i) }
        return table
    }()

    public static func encode(_ bytes: [UInt8]) -> String {
        String(decoding: encodeToBytes(bytes), as: UTF8.self)
    }

    public static func encodeToBytes(_ bytes: [UInt8]) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(((bytes.count + 2) / 3) * 4)
        var i = 0
        while i + 3 <= bytes.count {
            let n = UInt32(bytes[i]) << 16 | UInt32(bytes[i + 1]) << 8 | UInt32(bytes[i + 2])
            out.append(alphabet[Int(n >> 18 & 63)])
            out.append(alphabet[Int(n >> 12 & 63)])
            out.append(alphabet[Int(n >> 6 & 63)])
            out.append(alphabet[Int(n & 63)])
            i += 3
        }
        switch bytes.count - i {
        case 1:
            let n = UInt32(bytes[i]) << 16
            out.append(alphabet[Int(n >> 18 & 63)])
            out.append(alphabet[Int(n >> 12 & 63)])
            out.append(UInt8(ascii: "="))
            out.append(UInt8(ascii: "="))
        case 2:
            let n = UInt32(bytes[i]) << 16 | UInt32(bytes[i + 1]) << 8
            out.append(alphabet[Int(n >> 18 & 63)])
            out.append(alphabet[Int(n >> 12 & 63)])
            out.append(alphabet[Int(n >> 6 & 63)])
            out.append(UInt8(ascii: "="))
        default:
            break
        }
        return out
    }

    /// The decoded bytes, or nil when `text` is not canonical padded base64.
    public static func decode(_ text: String) -> [UInt8]? {
        decode(bytes: Array(text.utf8))
    }

    public static func decode<C: Collection>(bytes input: C) -> [UInt8]? where C.Element == UInt8 {
        let chars = Array(input)
        guard chars.count % 4 == 0 else { return nil }
        if chars.isEmpty { return [] }
        var padding = 0
        if chars[chars.count - 1] == UInt8(ascii: "=") { padding += 1 }
        if chars[chars.count - 2] == UInt8(ascii: "=") {
            guard padding == 1 else { return nil }  // "x=x=" is not padding
            padding += 1
        }
        var out: [UInt8] = []
        out.reserveCapacity(chars.count / 4 * 3)
        var i = 0
        while i < chars.count {
            let isLast = i + 4 == chars.count
            let used = isLast ? 4 - padding : 4
            var n: UInt32 = 0
            for j in 0..<4 {
                var v: UInt8 = 0
                if j < used {
                    v = reverse[Int(chars[i + j])]
                    if v == 0xFF { return nil }
                }
                n = n << 6 | UInt32(v)
            }
            out.append(UInt8(n >> 16 & 0xFF))
            if used >= 3 { out.append(UInt8(n >> 8 & 0xFF)) }
            if used == 4 { out.append(UInt8(n & 0xFF)) }
            // Non-zero leftover bits mean a non-canonical encoding.
            if used == 2 && n & 0xFFFF != 0 { return nil }
            if used == 3 && n & 0xFF != 0 { return nil }
            i += 4
        }
        return out
    }
}

/// SASLprep (RFC 4013), the parts that matter for passwords in practice.
///
/// Done: non-ASCII spaces (RFC 3454 C.1.2) map to U+0020, "commonly mapped to nothing" (B.1)
/// characters are removed, and prohibited characters (control, private use, non-characters,
/// surrogates, tagging; C.2–C.9) make the input invalid. Not done: NFKC normalization (it needs the
/// Unicode tables that only Foundation carries) and the bidirectional check. ASCII passwords, the
/// common case, come out unchanged.
public enum SASLprep {
    /// The prepared string, or nil when the input contains a prohibited character.
    public static func prepare(_ input: String) -> String? {
        var out = String.UnicodeScalarView()
        for scalar in input.unicodeScalars {
            let v = scalar.value
            if isMappedToNothing(v) { continue }
            if isNonASCIISpace(v) {
                out.append(" ")
                continue
            }
            if isProhibited(v) { return nil }
            out.append(scalar)
        }
        return String(out)
    }

    /// What PostgreSQL does: the prepared password, or the password unchanged when it cannot be
    /// prepared (so any byte string still works as a password).
    public static func prepareOrKeep(_ input: String) -> String {
        prepare(input) ?? input
    }

    static func isMappedToNothing(_ v: UInt32) -> Bool {
        switch v {
        case 0x00AD, 0x034F, 0x1806, 0x180B...0x180D, 0x200C, 0x200D, 0x2060, 0xFE00...0xFE0F, 0xFEFF:
            true
        default:
            false
        }
    }

    static func isNonASCIISpace(_ v: UInt32) -> Bool {
        switch v {
        case 0x00A0, 0x1680, 0x2000...0x200B, 0x202F, 0x205F, 0x3000: true
        default: false
        }
    }

    static func isProhibited(_ v: UInt32) -> Bool {
        switch v {
        case 0x0000...0x001F, 0x007F: true                     // C.2.1 ASCII control
        case 0x0080...0x009F, 0x06DD, 0x070F, 0x180E, 0x200E, 0x200F, 0x2028...0x202E, 0x2060...0x2063,
             0x206A...0x206F, 0xFFF9...0xFFFC, 0x1D173...0x1D17A: true  // C.2.2 non-ASCII control, C.8
        case 0xE000...0xF8FF, 0xF0000...0xFFFFD, 0x100000...0x10FFFD: true  // C.3 private use
        case 0xFDD0...0xFDEF: true                              // C.4 non-characters
        case _ where v & 0xFFFE == 0xFFFE: true                 // C.4 U+xFFFE, U+xFFFF
        case 0xD800...0xDFFF: true                              // C.5 surrogates
        case 0xFFF9...0xFFFD: true                              // C.6, C.7
        case 0x2FF0...0x2FFB: true                              // C.7 ideographic description
        case 0xE0001, 0xE0020...0xE007F: true                   // C.9 tagging
        default: false
        }
    }
}

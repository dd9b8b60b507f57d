import Testing
import WireCore

@Suite struct Base64Tests {
    // RFC 4648 §10 test vectors.
    static let vectors: [(String, String)] = [
        ("", ""), ("f", "Zg=="), ("fo", "Zm8="), ("foo", "Zm9v"),
        ("foob", "Zm9vYg=="), ("fooba", "Zm9vYmE="), ("foobar", "Zm9vYmFy"),
    ]

    @Test func rfc4648Vectors() {
        for (plain, encoded) in Self.vectors {
            #expect(Base64.encode(Array(plain.utf8)) == encoded)
            #expect(Base64.decode(encoded) == Array(plain.utf8))
        }
    }

    @Test func allByteValuesRoundTrip() {
        for length in 0..<40 {
            let bytes = (0..<length).map { UInt8(truncatingIfNeeded: $0 &* 37 &+ 251) }
            let text = Base64.encode(bytes)
            #expect(text.utf8.count == (length + 2) / 3 * 4)
            #expect(Base64.decode(text) == bytes)
        }
        let all = (0...255).map { UInt8($0) }
        #expect(Base64.decode(Base64.encode(all)) == all)
    }

    @Test func usesStandardAlphabet() {
        #expect(Base64.encode([0xFB, 0xFF, 0xBF]) == "+/+/")
        #expect(Base64.decode("+/+/") == [0xFB, 0xFF, 0xBF])
        #expect(Base64.decode("-_-_") == nil)  // URL-safe alphabet is not accepted
    }

    @Test func rejectsMalformedInput() {
        let bad = [
            "Zg", "Zg=", "Zm9", "Z===", "====", "Zg==Zg==", "Zm=v", "Zm9v\n", " Zm9v", "Zm9v YmFy",
            "Zh==",   // leftover bits set: not canonical
            "Zm9=",   // leftover bits set
            "Zm9vY===",
            "Zm\u{00e9}v",
        ]
        for text in bad {
            #expect(Base64.decode(text) == nil, "accepted \(text)")
        }
    }

    @Test func decodesFromBytes() {
        #expect(Base64.decode(bytes: Array("Zm9vYmFy".utf8)[...]) == Array("foobar".utf8))
        #expect(Base64.encodeToBytes(Array("foo".utf8)) == Array("Zm9v".utf8))
    }
}

import PipeAuth
import Testing

@Suite struct CryptoTests {
    @Test func digestVectors() {
        // FIPS 180 / RFC 1321 examples.
        #expect(Hex.encode(Digest.sha256.hash("abc")) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        #expect(Hex.encode(Digest.sha1.hash("abc")) == "a9993e364706816aba3e25717850c26c9cd0d89d")
        #expect(Hex.encode(Digest.sha512.hash("abc")) ==
            "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f")
        #expect(Hex.encode(Digest.md5.hash("")) == "d41d8cd98f00b204e9800998ecf8427e")
        #expect(Hex.encode(Digest.md5.hash("message digest")) == "f96b697d7cb7938d525a2f31aaf161d0")
        #expect(Hex.encode(Digest.sha256.hash([UInt8]())) == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        for d in Digest.allCases { #expect(d.hash("x").count == d.length) }
    }

    @Test func hmacVectors() {
        // RFC 4231 test cases 1 and 2.
        let key1 = [UInt8](repeating: 0x0b, count: 20)
        #expect(Hex.encode(Digest.sha256.hmac(key: key1, data: Array("Hi There".utf8))) ==
            "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7")
        #expect(Hex.encode(Digest.sha512.hmac(key: key1, data: Array("Hi There".utf8))) ==
            "87aa7cdea5ef619d4ff0b4241a1d6cb02379f4e2ce4ec2787ad0b30545e17cdedaa833b7d6b8a702038b274eaea3f4e4be9d914eeb61f1702e696c203a126854")
        #expect(Hex.encode(Digest.sha256.hmac(key: Array("Jefe".utf8), data: Array("what do ya want for nothing?".utf8))) ==
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843")
        // RFC 2202 HMAC-MD5 test case 2.
        #expect(Hex.encode(Digest.md5.hmac(key: Array("Jefe".utf8), data: Array("what do ya want for nothing?".utf8))) ==
            "750c783e6ab0b503eaa86e310a5db738")
        // An empty key is valid HMAC (the key is zero-padded).
        #expect(Hex.encode(Digest.sha256.hmac(key: [], data: [])) ==
            "b613679a0814d9ec772f95d778c35fc5ff1697c493715653c6c712144292c5ad")
    }

    @Test func pbkdf2Vectors() {
        // RFC 6070 (PBKDF2-HMAC-SHA1).
        #expect(Hex.encode(PBKDF2.derive(password: Array("password".utf8), salt: Array("salt".utf8), iterations: 1,
                                         digest: .sha1, length: 20)) == "0c60c80f961f0e71f3a9b524af6012062fe037a6")
        #expect(Hex.encode(PBKDF2.derive(password: Array("password".utf8), salt: Array("salt".utf8), iterations: 4096,
                                         digest: .sha1, length: 20)) == "4b007901b765489abead49d926f721d065a429c1")
        #expect(Hex.encode(PBKDF2.derive(password: Array("pass\u{0}word".utf8), salt: Array("sa\u{0}lt".utf8),
                                         iterations: 4096, digest: .sha1, length: 16)) == "56fa6aa75548099dcc37d7f03425e0c3")
        // RFC 7914 §11 (PBKDF2-HMAC-SHA256).
        #expect(Hex.encode(PBKDF2.derive(password: Array("passwd".utf8), salt: Array("salt".utf8), iterations: 1,
                                         digest: .sha256, length: 64)) ==
            "55ac046e56e3089fec1691c22544b605f94185216dde0465e68b9d57c20dacbc49ca9cccf179b645991664b39d77ef317c71b845b1e30bd509112041d3a19783")
    }

    @Test func hexRoundTripAndRejects() {
        let bytes: [UInt8] = [0, 1, 0x7f, 0x80, 0xab, 0xff]
        #expect(Hex.encode(bytes) == "00017f80abff")
        #expect(Hex.decode("00017F80ABff") == bytes)
        #expect(Hex.decode("abc") == nil)
        #expect(Hex.decode("zz") == nil)
        #expect(Hex.decode("") == [])
    }

    @Test func randomBytesDiffer() {
        let a = SecureRandom.bytes(32), b = SecureRandom.bytes(32)
        #expect(a.count == 32 && b.count == 32)
        #expect(a != b)
        #expect(SecureRandom.bytes(0).isEmpty)
    }

    @Test func constantTimeCompare() {
        #expect(constantTimeEqual([1, 2, 3], [1, 2, 3]))
        #expect(!constantTimeEqual([1, 2, 3], [1, 2, 4]))
        #expect(!constantTimeEqual([1, 2], [1, 2, 3]))
        #expect(openSSLVersion.hasPrefix("OpenSSL"))
    }
}

import Foundation
import PipeAuth
import PipeTestSupport
import Testing

@Suite struct SCRAMTests {
    // RFC 7677 §3.
    @Test func rfc7677Example() async throws {
        var client = SCRAMClient(mechanism: .sha256, username: "user", password: "pencil", nonce: "rOprNGfwEbeRWgbNEkqO")
        #expect(String(decoding: client.clientFirstMessage(), as: UTF8.self) == "n,,n=user,r=rOprNGfwEbeRWgbNEkqO")
        let serverFirst = "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096"
        let clientFinal = try client.receiveServerFirst(Array(serverFirst.utf8))
        #expect(String(decoding: clientFinal, as: UTF8.self) ==
            "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=")
        #expect(!client.isComplete)
        try client.receiveServerFinal(Array("v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=".utf8))
        #expect(client.isComplete)
    }

    static let serverFirst = Array("r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096".utf8)

    func started(password: String = "pencil") -> SCRAMClient {
        var client = SCRAMClient(mechanism: .sha256, username: "user", password: password, nonce: "rOprNGfwEbeRWgbNEkqO")
        _ = client.clientFirstMessage()
        return client
    }

    @Test func wrongServerSignatureIsRejected() async throws {
        var client = started(password: "pencil2")
        _ = try client.receiveServerFirst(Self.serverFirst)
        let error = #expect(throws: AuthError.self) {
            try client.receiveServerFinal(Array("v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=".utf8))
        }
        #expect(error?.code == .serverSignatureMismatch)
        #expect(!client.isComplete)
        #expect(!(error?.description.contains("pencil") ?? true))
    }

    @Test func serverErrorIsReported() async throws {
        var client = started()
        _ = try client.receiveServerFirst(Self.serverFirst)
        let error = #expect(throws: AuthError.self) { try client.receiveServerFinal(Array("e=invalid-proof".utf8)) }
        #expect(error?.code == .serverError)
        #expect(error?.context.contains("invalid-proof") == true)
    }

    @Test(arguments: [
        ("r=otherNonce123,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096", AuthError.Code.nonceMismatch),
        ("r=rOprNGfwEbeRWgbNEkqO,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096", .nonceMismatch),  // not extended
        ("r=rOprNGfwEbeRWgbNEkqOxyz,s=not base64!,i=4096", .malformedServerMessage),
        ("r=rOprNGfwEbeRWgbNEkqOxyz,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=-1", .malformedServerMessage),
        ("r=rOprNGfwEbeRWgbNEkqOxyz,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=0", .malformedServerMessage),
        ("r=rOprNGfwEbeRWgbNEkqOxyz,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=99999999999999999999999", .malformedServerMessage),
        ("r=rOprNGfwEbeRWgbNEkqOxyz,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=2000000000", .invalidParameter),
        ("r=rOprNGfwEbeRWgbNEkqOxyz,s=W22ZaJ0SNY7soEsUEjb6gQ==", .malformedServerMessage),
        ("m=ext,r=rOprNGfwEbeRWgbNEkqOxyz,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096", .unsupportedExtension),
        ("s=W22ZaJ0SNY7soEsUEjb6gQ==,r=rOprNGfwEbeRWgbNEkqOxyz,i=4096", .malformedServerMessage),
        ("", .malformedServerMessage),
        ("r", .malformedServerMessage),
        (",,,", .malformedServerMessage),
    ])
    func malformedServerFirst(message: String, code: AuthError.Code) {
        var client = started()
        let error = #expect(throws: AuthError.self) { _ = try client.receiveServerFirst(Array(message.utf8)) }
        #expect(error?.code == code, "\(message)")
    }

    @Test func invalidUTF8AndOutOfOrderCalls() async throws {
        var fresh = SCRAMClient(mechanism: .sha512, username: "u", password: "p")
        #expect(throws: AuthError.self) { _ = try fresh.receiveServerFirst(Self.serverFirst) }
        #expect(throws: AuthError.self) { try fresh.receiveServerFinal(Array("v=AAAA".utf8)) }
        var client = started()
        #expect(throws: AuthError.self) { _ = try client.receiveServerFirst([0xff, 0xfe]) }
        // After a failure the exchange cannot continue.
        #expect(throws: AuthError.self) { _ = try client.receiveServerFirst(Self.serverFirst) }
    }

    @Test func gs2HeaderAndExtensions() {
        var client = SCRAMClient(mechanism: .sha512, username: "a=b,c", password: "x", authzid: "admin,1",
                                 nonce: "abc", tokenAuth: true)
        #expect(String(decoding: client.clientFirstMessage(), as: UTF8.self) == "n,a=admin=2C1,n=a=3Db=2Cc,r=abc,tokenauth=true")
        // PostgreSQL: empty user name.
        var pg = SCRAMClient(mechanism: .sha256, username: "", password: "x", nonce: "n0")
        #expect(String(decoding: pg.clientFirstMessage(), as: UTF8.self) == "n,,n=,r=n0")
        var cb = SCRAMClient(mechanism: .sha256, username: "", password: "x", nonce: "n0",
                             channelBinding: .init(type: "tls-server-end-point", data: [1, 2, 3]))
        #expect(String(decoding: cb.clientFirstMessage(), as: UTF8.self) == "p=tls-server-end-point,,n=,r=n0")
        #expect(SCRAMClient.Mechanism.sha256.name == "SCRAM-SHA-256")
        #expect(SCRAMClient.Mechanism.sha512.name == "SCRAM-SHA-512")
    }

    @Test func randomNonceIsFreshAndPrintable() {
        var a = SCRAMClient(mechanism: .sha256, username: "u", password: "p")
        var b = SCRAMClient(mechanism: .sha256, username: "u", password: "p")
        let ma = String(decoding: a.clientFirstMessage(), as: UTF8.self)
        let mb = String(decoding: b.clientFirstMessage(), as: UTF8.self)
        #expect(ma != mb)
        #expect(ma.hasPrefix("n,,n=u,r=") && ma.count > "n,,n=u,r=".count + 20)
        #expect(!ma.dropFirst(9).contains(","))
    }

    @Test func secretsAreNotShown() {
        let client = SCRAMClient(mechanism: .sha256, username: "user", password: "hunter2-secret")
        #expect(!"\(client)".contains("hunter2"))
        #expect(!String(reflecting: client).contains("hunter2"))
        var dumped = ""
        dump(client, to: &dumped)
        #expect(!dumped.contains("hunter2"))
    }

    @Test func saslPrep() {
        #expect(SASLprep.prepare("pencil") == "pencil")
        #expect(SASLprep.prepare("I\u{00AD}X") == "IX")           // RFC 4013 §3 example 1
        #expect(SASLprep.prepare("a\u{00A0}b") == "a b")          // non-ASCII space
        #expect(SASLprep.prepare("\u{0007}") == nil)              // RFC 4013 §3 example 5
        #expect(SASLprep.prepareOrKeep("\u{0007}") == "\u{0007}")
        #expect(SASLprep.prepare("\u{E000}") == nil)              // private use
    }

    /// SCRAM-SHA-256 and -512 against python's `scramp` acting as the server, good and bad password.
    @Test(arguments: [SCRAMClient.Mechanism.sha512, .sha256])
    func againstScrampServer(mechanism: SCRAMClient.Mechanism) async throws {
        guard await scrampAvailable() else {
            if TestEnv.isCI { Issue.record("python3 with scramp is required") } else { print("skipping: pip install scramp") }
            return
        }
        for (password, shouldSucceed) in [("correct horse", true), ("wrong horse", false)] {
            var client = SCRAMClient(mechanism: mechanism, username: "alice", password: password)
            let first = client.clientFirstMessage()
            let serverFirst = try await scramp(mechanism, ["first": String(decoding: first, as: UTF8.self)])
            #expect(serverFirst.hasPrefix("r="))
            let final = try client.receiveServerFirst(Array(serverFirst.utf8))
            let serverFinal = try await scramp(mechanism, ["first": String(decoding: first, as: UTF8.self),
                                                     "final": String(decoding: final, as: UTF8.self)])
            if shouldSucceed {
                #expect(serverFinal.hasPrefix("v="), "\(serverFinal)")
                try client.receiveServerFinal(Array(serverFinal.utf8))
                #expect(client.isComplete)
            } else {
                // scramp refuses the proof; its error goes back as e=.
                #expect(serverFinal.hasPrefix("e="), "\(serverFinal)")
                let error = #expect(throws: AuthError.self) { try client.receiveServerFinal(Array(serverFinal.utf8)) }
                #expect(error?.code == .serverError)
            }
        }
    }

    func scrampAvailable() async -> Bool {
        (try? await Run.program("/usr/bin/env", ["python3", "-c", "import scramp"]).status) == 0
    }

    /// Replays the server side deterministically (fixed salt and server nonce), so the two
    /// stateless runs form one exchange.
    func scramp(_ mechanism: SCRAMClient.Mechanism, _ input: [String: String]) async throws -> String {
        let script = #"""
import json, sys, scramp
req = json.load(sys.stdin)
mech = scramp.ScramMechanism(req["mechanism"])
info = mech.make_auth_info("correct horse", iteration_count=4096, salt=b"0123456789abcdef")
server = mech.make_server(lambda user: info, s_nonce="serverNonceXYZ")
server.set_client_first(req["first"])
first = server.get_server_first()
if "final" not in req:
    print(first)
    sys.exit(0)
try:
    server.set_client_final(req["final"])
except scramp.ScramException as e:
    pass
print(server.get_server_final())
"""#
        var payload = input
        payload["mechanism"] = mechanism.name
        let data = try JSONSerialization.data(withJSONObject: payload)
        let result = try await Run.program("/usr/bin/env", ["python3", "-c", script], input: data)
        try #require(result.status == 0, "scramp failed: \(result.stderr)")
        return result.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    }
}

import WireCore

/// The client side of SCRAM (RFC 5802, RFC 7677 for SHA-256; SHA-512 as Kafka uses it).
///
/// A value-type state machine with no I/O: the caller sends what it returns and feeds it what the
/// server sent. Used by Kafka's SCRAM-SHA-256/512 and PostgreSQL's SCRAM-SHA-256 (PostgreSQL sends
/// an empty user name: the server takes it from the startup message).
///
///     var scram = SCRAMClient(mechanism: .sha256, username: "user", password: "pencil")
///     send(scram.clientFirstMessage())
///     send(try scram.receiveServerFirst(serverFirst))
///     try scram.receiveServerFinal(serverFinal)   // throws unless the server proved the password
///
/// The password is kept only until the salted password is derived; the value's description and
/// mirror never show it.
public struct SCRAMClient: Sendable, CustomStringConvertible, CustomReflectable {
    public enum Mechanism: Sendable, Hashable {
        case sha256, sha512

        /// The SASL mechanism name: `SCRAM-SHA-256` or `SCRAM-SHA-512`.
        public var name: String {
            switch self {
            case .sha256: "SCRAM-SHA-256"
            case .sha512: "SCRAM-SHA-512"
            }
        }

        public var digest: Digest {
            switch self {
            case .sha256: .sha256
            case .sha512: .sha512
            }
        }
    }

    /// Channel binding (RFC 5929), for PostgreSQL's SCRAM-SHA-256-PLUS: type `tls-server-end-point`
    /// and the hash of the server's certificate.
    public struct ChannelBinding: Sendable {
        public var type: String
        public var data: [UInt8]
        public init(type: String, data: [UInt8]) {
            self.type = type
            self.data = data
        }
    }

    /// Server-first messages asking for more iterations than this are refused, so a hostile server
    /// cannot make the client spin for minutes.
    public static let maximumIterations = 10_000_000

    private enum State: Sendable {
        case initial
        case sentClientFirst(clientFirstBare: String)
        case sentClientFinal(serverSignature: [UInt8])
        case done
        case failed
    }

    public let mechanism: Mechanism
    public let username: String
    public let authzid: String?
    public let tokenAuth: Bool
    private let password: String
    private let nonce: String
    private let channelBinding: ChannelBinding?
    private var state: State = .initial

    /// - Parameters:
    ///   - username: sent after SCRAM's `=2C`/`=3D` escaping; PostgreSQL takes an empty one.
    ///   - authzid: the authorization identity (`a=` in the GS2 header), when acting for another user.
    ///   - nonce: a fixed client nonce, for tests only; otherwise 24 random bytes in base64.
    ///   - tokenAuth: Kafka's delegation-token extension (`tokenauth=true`).
    ///   - saslPrep: prepare the password with SASLprep (PostgreSQL does, falling back to the raw
    ///     password; Kafka's Java server does not, so the Kafka client passes false).
    ///   - channelBinding: PostgreSQL's SCRAM-SHA-256-PLUS; nil sends GS2 flag `n`.
    public init(mechanism: Mechanism, username: String, password: String, authzid: String? = nil,
                nonce: String? = nil, tokenAuth: Bool = false, saslPrep: Bool = true,
                channelBinding: ChannelBinding? = nil) {
        self.mechanism = mechanism
        self.username = username
        self.password = saslPrep ? SASLprep.prepareOrKeep(password) : password
        self.authzid = authzid
        self.nonce = nonce ?? Base64.encode(SecureRandom.bytes(24))
        self.tokenAuth = tokenAuth
        self.channelBinding = channelBinding
    }

    /// True once the server's signature has been verified.
    public var isComplete: Bool {
        if case .done = state { return true }
        return false
    }

    private var gs2Header: String {
        var header = channelBinding.map { "p=\($0.type)" } ?? "n"
        header += ","
        if let authzid { header += "a=" + Self.escapeName(authzid) }
        header += ","
        return header
    }

    /// client-first-message: `n,,n=<user>,r=<nonce>[,tokenauth=true]`.
    public mutating func clientFirstMessage() -> [UInt8] {
        var bare = "n=" + Self.escapeName(username) + ",r=" + nonce
        if tokenAuth { bare += ",tokenauth=true" }
        state = .sentClientFirst(clientFirstBare: bare)
        return Array((gs2Header + bare).utf8)
    }

    /// Takes server-first-message, returns client-final-message with the proof.
    public mutating func receiveServerFirst(_ message: [UInt8]) throws -> [UInt8] {
        guard case .sentClientFirst(let clientFirstBare) = state else {
            throw AuthError(.invalidState, "\(mechanism.name): server-first-message before client-first-message")
        }
        state = .failed
        let what = "\(mechanism.name) server-first-message"
        guard let serverFirst = String(validating: message, as: UTF8.self) else {
            throw AuthError(.malformedServerMessage, "\(what) is not UTF-8")
        }
        let attributes = try Self.parseAttributes(serverFirst, what: what)
        if let first = attributes.first, first.key == "m" {
            throw AuthError(.unsupportedExtension, "\(what) requires an unsupported extension")
        }
        guard attributes.count >= 3, attributes[0].key == "r", attributes[1].key == "s", attributes[2].key == "i" else {
            throw AuthError(.malformedServerMessage, "\(what) does not start with r=, s=, i=")
        }
        let serverNonce = attributes[0].value
        guard serverNonce.utf8.count > nonce.utf8.count, serverNonce.hasPrefix(nonce) else {
            throw AuthError(.nonceMismatch, "\(what): the server nonce does not extend the client nonce")
        }
        guard serverNonce.utf8.allSatisfy({ $0 >= 0x21 && $0 <= 0x7E && $0 != UInt8(ascii: ",") }) else {
            throw AuthError(.malformedServerMessage, "\(what): the nonce has non-printable characters")
        }
        guard let salt = Base64.decode(attributes[1].value), !salt.isEmpty else {
            throw AuthError(.malformedServerMessage, "\(what): the salt is not base64")
        }
        let iterationText = attributes[2].value
        guard !iterationText.isEmpty, iterationText.utf8.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }),
              let iterations = Int(iterationText), iterations > 0 else {
            throw AuthError(.malformedServerMessage, "\(what): bad iteration count")
        }
        guard iterations <= Self.maximumIterations else {
            throw AuthError(.invalidParameter, "\(what): iteration count \(iterations) exceeds \(Self.maximumIterations)")
        }

        var binding = Array(gs2Header.utf8)
        if let channelBinding { binding += channelBinding.data }
        let clientFinalWithoutProof = "c=" + Base64.encode(binding) + ",r=" + serverNonce
        let authMessage = Array((clientFirstBare + "," + serverFirst + "," + clientFinalWithoutProof).utf8)

        let digest = mechanism.digest
        let saltedPassword = PBKDF2.derive(password: Array(password.utf8), salt: salt, iterations: iterations,
                                           digest: digest, length: digest.length)
        let clientKey = digest.hmac(key: saltedPassword, data: Array("Client Key".utf8))
        let storedKey = digest.hash(clientKey)
        let clientSignature = digest.hmac(key: storedKey, data: authMessage)
        var proof = clientKey
        for i in 0..<proof.count { proof[i] ^= clientSignature[i] }
        let serverKey = digest.hmac(key: saltedPassword, data: Array("Server Key".utf8))
        let serverSignature = digest.hmac(key: serverKey, data: authMessage)

        state = .sentClientFinal(serverSignature: serverSignature)
        return Array((clientFinalWithoutProof + ",p=" + Base64.encode(proof)).utf8)
    }

    /// Takes server-final-message; throws unless it carries the expected server signature.
    public mutating func receiveServerFinal(_ message: [UInt8]) throws {
        guard case .sentClientFinal(let expected) = state else {
            throw AuthError(.invalidState, "\(mechanism.name): server-final-message before client-final-message")
        }
        state = .failed
        let what = "\(mechanism.name) server-final-message"
        guard let serverFinal = String(validating: message, as: UTF8.self) else {
            throw AuthError(.malformedServerMessage, "\(what) is not UTF-8")
        }
        let attributes = try Self.parseAttributes(serverFinal, what: what)
        guard let first = attributes.first else {
            throw AuthError(.malformedServerMessage, "\(what) is empty")
        }
        switch first.key {
        case "e":
            // The server's error text is a protocol token such as "invalid-proof": no secrets.
            throw AuthError(.serverError, "\(what): \(first.value)")
        case "v":
            guard let signature = Base64.decode(first.value) else {
                throw AuthError(.malformedServerMessage, "\(what): the verifier is not base64")
            }
            guard constantTimeEqual(signature, expected) else {
                throw AuthError(.serverSignatureMismatch, "\(what): the server signature does not match")
            }
            state = .done
        default:
            throw AuthError(.malformedServerMessage, "\(what) has neither v= nor e=")
        }
    }

    /// SCRAM's saslname escaping: `=` → `=3D`, `,` → `=2C`.
    public static func escapeName(_ name: String) -> String {
        var out = ""
        out.reserveCapacity(name.utf8.count)
        for ch in name {
            switch ch {
            case "=": out += "=3D"
            case ",": out += "=2C"
            default: out.append(ch)
            }
        }
        return out
    }

    /// `k=v,k=v` with single-letter keys; extensions after the known ones are kept.
    static func parseAttributes(_ message: String, what: String) throws -> [(key: Character, value: String)] {
        var result: [(key: Character, value: String)] = []
        for part in message.split(separator: ",", omittingEmptySubsequences: false) {
            let bytes = Array(part.utf8)
            guard bytes.count >= 2, bytes[1] == UInt8(ascii: "="),
                  (bytes[0] >= UInt8(ascii: "a") && bytes[0] <= UInt8(ascii: "z"))
                    || (bytes[0] >= UInt8(ascii: "A") && bytes[0] <= UInt8(ascii: "Z")) else {
                throw AuthError(.malformedServerMessage, "\(what) has a malformed attribute")
            }
            result.append((Character(Unicode.Scalar(bytes[0])), String(decoding: bytes[2...], as: UTF8.self)))
        }
        return result
    }

    public var description: String {
        "SCRAMClient(\(mechanism.name), username: \(username), password: ***)"
    }

    public var customMirror: Mirror {
        Mirror(self, children: ["mechanism": mechanism.name, "username": username, "password": "***"])
    }
}

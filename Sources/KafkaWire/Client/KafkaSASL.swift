import WireCore
import PipeAuth

/// The client side of one SASL exchange as a value: no I/O. `start()` gives the first
/// SaslAuthenticate payload; each server payload goes to `receive`, which returns the next client
/// payload, or nil when the exchange is complete. Errors name the mechanism, never the secret.
struct KafkaSASLExchange: Sendable {
    private enum State: Sendable {
        case initial
        case plainSent
        case scram(SCRAMClient, step: Int)
        case oauthSent
        /// The server answered the token with an error challenge (RFC 7628 §3.2.2); the client
        /// sent the `%x01` that ends the exchange and expects the failure.
        case oauthFailed(challenge: String)
        case iamSent
        case done
        case failed
    }

    let mechanism: SASLMechanismConfig
    /// The broker host (AWS_MSK_IAM signs it).
    let host: String
    let date: UnixTime
    private var state: State = .initial

    init(mechanism: SASLMechanismConfig, host: String, date: UnixTime = .now()) {
        self.mechanism = mechanism
        self.host = host
        self.date = date
    }

    var name: String { mechanism.mechanismName }

    var isComplete: Bool {
        if case .done = state { return true }
        return false
    }

    mutating func start() throws -> [UInt8] {
        guard case .initial = state else {
            throw KafkaWireError(.saslAuthenticationFailed, "\(name): exchange already started")
        }
        switch mechanism {
        case .plain(let user, let password, let authzid):
            state = .plainSent
            return Array((authzid ?? "").utf8) + [0] + Array(user.utf8) + [0] + Array(password.utf8)
        case .scram(let m, let user, let password, let authzid, let nonce, let tokenAuth):
            var client = SCRAMClient(mechanism: m, username: user, password: password,
                                     authzid: authzid.flatMap { $0.isEmpty ? nil : $0 },
                                     nonce: nonce, tokenAuth: tokenAuth, saslPrep: false)
            let first = client.clientFirstMessage()
            state = .scram(client, step: 1)
            return first
        case .oauthBearer(let token):
            state = .oauthSent
            return Array("n,,\u{1}auth=Bearer \(token)\u{1}\u{1}".utf8)
        case .awsMSKIAM(let credentials, let region, let userAgent):
            state = .iamSent
            return MSKIAM.authPayload(host: host, credentials: credentials, region: region, date: date,
                                      userAgent: userAgent)
        }
    }

    /// Takes the server's bytes of a successful SaslAuthenticate; returns the next client
    /// payload, or nil when authentication is complete.
    mutating func receive(_ server: [UInt8]) throws -> [UInt8]? {
        let current = state
        state = .failed
        switch current {
        case .oauthSent where !server.isEmpty:
            // A JSON error such as {"status":"invalid_token"}: no secret in it; keep it short.
            let challenge = String(decoding: server.prefix(200), as: UTF8.self)
            state = .oauthFailed(challenge: challenge)
            return [0x01]
        case .oauthFailed(let challenge):
            throw KafkaWireError(.saslAuthenticationFailed, "\(name) refused the token: \(challenge)")
        case .plainSent, .oauthSent, .iamSent:
            state = .done
            return nil
        case .scram(var client, let step):
            do {
                if step == 1 {
                    let final = try client.receiveServerFirst(server)
                    state = .scram(client, step: 2)
                    return final
                }
                try client.receiveServerFinal(server)
                state = .done
                return nil
            } catch {
                throw KafkaWireError(.saslAuthenticationFailed, "\(name): \(error)", cause: error)
            }
        case .initial, .done, .failed:
            throw KafkaWireError(.saslAuthenticationFailed, "\(name): unexpected server message")
        }
    }
}

extension KafkaConnection {
    /// Runs SaslHandshake v1 and the SaslAuthenticate exchange on this connection. Returns the
    /// session lifetime the broker granted (0: none).
    static func authenticate(send: (any KafkaSASLTransport), mechanism: SASLMechanismConfig, host: String,
                             peer: String, authenticateVersion: Int16) async throws -> Int64 {
        var exchange = KafkaSASLExchange(mechanism: mechanism, host: host)
        let name = exchange.name
        let handshake = try await send.handshake(SaslHandshakeRequest(mechanism: name))
        if handshake.errorCode == KafkaErrorCode.unsupportedSaslMechanism.rawValue {
            throw KafkaWireError(.saslAuthenticationFailed,
                                 "\(peer) does not enable \(name) (it offers \(handshake.mechanisms.joined(separator: ", ")))",
                                 brokerErrorCode: KafkaErrorCode(handshake.errorCode))
        }
        guard handshake.errorCode == 0 else {
            throw KafkaWireError(.saslAuthenticationFailed,
                                 "\(name) with \(peer): SaslHandshake \(KafkaErrorCode(handshake.errorCode))",
                                 brokerErrorCode: KafkaErrorCode(handshake.errorCode))
        }
        var payload: [UInt8]? = try exchange.start()
        var lifetime: Int64 = 0
        while let bytes = payload {
            let response = try await send.authenticate(SaslAuthenticateRequest(authBytes: bytes),
                                                       version: authenticateVersion)
            guard response.errorCode == 0 else {
                let message = response.errorMessage.map { ": \($0)" } ?? ""
                throw KafkaWireError(.saslAuthenticationFailed,
                                     "\(name) with \(peer) refused (\(KafkaErrorCode(response.errorCode)))\(message)",
                                     brokerErrorCode: KafkaErrorCode(response.errorCode))
            }
            if authenticateVersion >= 1 { lifetime = response.sessionLifetimeMs }
            do {
                payload = try exchange.receive(response.authBytes)
            } catch var e as KafkaWireError {
                e.context = "\(peer): \(e.context)"
                throw e
            }
        }
        return max(0, lifetime)
    }
}

/// Where the SASL requests go: the connection, or a test double.
protocol KafkaSASLTransport: Sendable {
    func handshake(_ request: SaslHandshakeRequest) async throws -> SaslHandshakeResponse
    func authenticate(_ request: SaslAuthenticateRequest, version: Int16) async throws -> SaslAuthenticateResponse
}

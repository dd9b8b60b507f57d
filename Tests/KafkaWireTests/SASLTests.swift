import Foundation
@testable import KafkaWire
import NIOCore
import NIOEmbedded
import PipeAuth
import PipeTLS
import PipeTestSupport
import Testing

// MARK: - the exchange, no network

@Suite struct SASLExchangeTests {
    @Test func plainMessageAndCompletion() throws {
        var ex = KafkaSASLExchange(mechanism: .plain(user: "alice", password: "s3cret", authzid: "admin"), host: "h")
        #expect(try ex.start() == Array("admin\0alice\0s3cret".utf8))
        #expect(!ex.isComplete)
        #expect(try ex.receive([]) == nil)
        #expect(ex.isComplete)
        #expect(throws: KafkaWireError.self) { try ex.receive([]) }
    }

    @Test func oauthBearerMessage() throws {
        var ex = KafkaSASLExchange(mechanism: .oauthBearer(token: "tok.en"), host: "h")
        #expect(String(decoding: try ex.start(), as: UTF8.self) == "n,,\u{1}auth=Bearer tok.en\u{1}\u{1}")
        #expect(try ex.receive([]) == nil)
        #expect(ex.isComplete)
    }

    /// RFC 7628 §3.2.2: an error challenge is answered with %x01, and never taken for success.
    @Test func oauthBearerErrorChallenge() throws {
        var ex = KafkaSASLExchange(mechanism: .oauthBearer(token: "tok-777"), host: "h")
        _ = try ex.start()
        #expect(try ex.receive(Array(#"{"status":"invalid_token"}"#.utf8)) == [0x01])
        #expect(!ex.isComplete)
        let error = try #require(throws: KafkaWireError.self) { try ex.receive([]) }
        #expect(error.code == .saslAuthenticationFailed)
        #expect(error.description.contains("invalid_token") && !error.description.contains("tok-777"))
    }

    /// RFC 7677's SCRAM-SHA-256 example, run through the exchange.
    @Test func scramSHA256RFC7677() throws {
        var ex = KafkaSASLExchange(mechanism: .scram(.sha256, user: "user", password: "pencil", authzid: nil,
                                                     nonce: "rOprNGfwEbeRWgbNEkqO", tokenAuth: false), host: "h")
        #expect(String(decoding: try ex.start(), as: UTF8.self) == "n,,n=user,r=rOprNGfwEbeRWgbNEkqO")
        let serverFirst = "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096"
        let final = try #require(try ex.receive(Array(serverFirst.utf8)))
        #expect(String(decoding: final, as: UTF8.self)
            == "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=")
        #expect(!ex.isComplete)
        #expect(try ex.receive(Array("v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=".utf8)) == nil)
        #expect(ex.isComplete)
    }

    @Test func scramWrongServerSignatureIsTypedAndSecretFree() throws {
        var ex = KafkaSASLExchange(mechanism: .scram(.sha256, user: "user", password: "pencil", authzid: nil,
                                                     nonce: "rOprNGfwEbeRWgbNEkqO", tokenAuth: false), host: "h")
        _ = try ex.start()
        _ = try ex.receive(Array("r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096".utf8))
        let error = try #require(throws: KafkaWireError.self) {
            try ex.receive(Array("v=AAAATRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=".utf8))
        }
        #expect(error.code == .saslAuthenticationFailed)
        #expect(error.description.contains("SCRAM-SHA-256"))
        #expect(!error.description.contains("pencil"))
        #expect(!ex.isComplete)
    }

    @Test func mskIAMPayloadSignsTheBrokerHost() throws {
        let creds = AWSCredentials(accessKeyID: "AKIDEXAMPLE", secretAccessKey: "topsecretkey", sessionToken: "sess-tok")
        var ex = KafkaSASLExchange(mechanism: .awsMSKIAM(credentials: creds, region: "eu-west-1", userAgent: "ua"),
                                   host: "b-1.example.kafka.eu-west-1.amazonaws.com")
        let json = try #require(try JSONSerialization.jsonObject(with: Data(try ex.start())) as? [String: String])
        #expect(json["host"] == "b-1.example.kafka.eu-west-1.amazonaws.com")
        #expect(json["x-amz-credential"]?.hasPrefix("AKIDEXAMPLE/") == true)
        #expect(json["x-amz-credential"]?.hasSuffix("/eu-west-1/kafka-cluster/aws4_request") == true)
        #expect(json["x-amz-security-token"] == "sess-tok")
        #expect(!json.values.contains { $0.contains("topsecretkey") })
        #expect(try ex.receive(Array(#"{"version":"2020_10_22","request-id":"x"}"#.utf8)) == nil)
    }

    @Test func descriptionsHideSecrets() {
        let configs: [SASLMechanismConfig] = [
            .plain(user: "u", password: "pw-111", authzid: nil),
            .scram(.sha512, user: "u", password: "pw-222", authzid: nil, nonce: nil, tokenAuth: false),
            .oauthBearer(token: "tok-333"),
            .awsMSKIAM(credentials: AWSCredentials(accessKeyID: "AK", secretAccessKey: "sk-444", sessionToken: "st-555"),
                       region: "us-east-1", userAgent: "x"),
        ]
        for c in configs {
            let text = "\(c) \(String(reflecting: c)) \(KafkaSecurity(sasl: c))"
            for secret in ["pw-111", "pw-222", "tok-333", "sk-444", "st-555"] {
                #expect(!text.contains(secret), "\(c.mechanismName) shows a secret")
            }
        }
    }

    /// A scripted broker for `KafkaConnection.authenticate`.
    final class FakeBroker: KafkaSASLTransport, @unchecked Sendable {
        var handshakeResponse: SaslHandshakeResponse
        var authResponses: [SaslAuthenticateResponse]
        var seen: [[UInt8]] = []
        init(handshake: SaslHandshakeResponse, auth: [SaslAuthenticateResponse]) {
            handshakeResponse = handshake
            authResponses = auth
        }
        func handshake(_ request: SaslHandshakeRequest) async throws -> SaslHandshakeResponse { handshakeResponse }
        func authenticate(_ request: SaslAuthenticateRequest, version: Int16) async throws -> SaslAuthenticateResponse {
            seen.append(request.authBytes)
            return authResponses.removeFirst()
        }
    }

    @Test func authenticateReturnsTheSessionLifetime() async throws {
        let broker = FakeBroker(handshake: SaslHandshakeResponse(errorCode: 0, mechanisms: ["PLAIN"]),
                                auth: [SaslAuthenticateResponse(errorCode: 0, errorMessage: nil, authBytes: [], sessionLifetimeMs: 3000)])
        let lifetime = try await KafkaConnection.authenticate(send: broker, mechanism: .plain(user: "a", password: "b", authzid: nil),
                                                              host: "h", peer: "h:1", authenticateVersion: 2)
        #expect(lifetime == 3000)
        #expect(broker.seen == [Array("\0a\0b".utf8)])
        let v0 = FakeBroker(handshake: SaslHandshakeResponse(errorCode: 0, mechanisms: ["PLAIN"]),
                            auth: [SaslAuthenticateResponse(errorCode: 0, errorMessage: nil, authBytes: [], sessionLifetimeMs: 3000)])
        #expect(try await KafkaConnection.authenticate(send: v0, mechanism: .plain(user: "a", password: "b", authzid: nil),
                                                       host: "h", peer: "h:1", authenticateVersion: 0) == 0)
    }

    @Test func refusalNamesMechanismBrokerAndMessage() async throws {
        let broker = FakeBroker(handshake: SaslHandshakeResponse(errorCode: 0, mechanisms: ["PLAIN"]),
                                auth: [SaslAuthenticateResponse(errorCode: 58, errorMessage: "Invalid username or password")])
        let error = try await #require(throws: KafkaWireError.self) {
            try await KafkaConnection.authenticate(send: broker, mechanism: .plain(user: "a", password: "hunter2", authzid: nil),
                                                   host: "h", peer: "broker-1:9092", authenticateVersion: 1)
        }
        #expect(error.code == .saslAuthenticationFailed)
        #expect(error.brokerErrorCode == .saslAuthenticationFailed)
        for part in ["PLAIN", "broker-1:9092", "Invalid username or password"] { #expect(error.description.contains(part)) }
        #expect(!error.description.contains("hunter2"))
    }

    @Test func unsupportedMechanismListsWhatTheBrokerOffers() async throws {
        let broker = FakeBroker(handshake: SaslHandshakeResponse(errorCode: 33, mechanisms: ["PLAIN", "SCRAM-SHA-512"]), auth: [])
        let error = try await #require(throws: KafkaWireError.self) {
            try await KafkaConnection.authenticate(send: broker, mechanism: .oauthBearer(token: "t0k"),
                                                   host: "h", peer: "b:9092", authenticateVersion: 1)
        }
        #expect(error.code == .saslAuthenticationFailed)
        #expect(error.description.contains("OAUTHBEARER") && error.description.contains("SCRAM-SHA-512"))
        #expect(!error.description.contains("t0k"))
    }
}

// MARK: - through the SASL gateway (scripts/services/kafka-sasl.sh) and stunnel

@Suite(.serialized) struct SASLLiveTests {
    static func env(_ name: String) -> String? {
        TestEnv.require(name) { Issue.record(Comment(rawValue: $0)) }
    }

    enum Listener: String, CaseIterable, Sendable { case plaintext, tls }

    static func security(_ listener: Listener, _ sasl: SASLMechanismConfig?) -> (String, KafkaSecurity)? {
        switch listener {
        case .plaintext:
            guard let servers = env("KP_KAFKA_SASL") else { return nil }
            return (servers, KafkaSecurity(sasl: sasl))
        case .tls:
            guard let servers = env("KP_KAFKA_SASL_TLS"), let ca = env("KP_TLS_CA") else { return nil }
            return (servers, KafkaSecurity(tls: TLSConfiguration(caFile: ca), sasl: sasl))
        }
    }

    /// Good credentials of each mechanism, from env.sh; nil when a variable is missing.
    static func good(_ mechanism: String) -> SASLMechanismConfig? {
        switch mechanism {
        case "PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512":
            guard let users = env("KP_KAFKA_SASL_USERS"),
                  let first = users.split(separator: " ").first?.split(separator: ":", maxSplits: 1),
                  first.count == 2 else { return nil }
            let (u, p) = (String(first[0]), String(first[1]))
            switch mechanism {
            case "PLAIN": return .plain(user: u, password: p, authzid: nil)
            case "SCRAM-SHA-256": return .scram(.sha256, user: u, password: p, authzid: nil, nonce: nil, tokenAuth: false)
            default: return .scram(.sha512, user: u, password: p, authzid: nil, nonce: nil, tokenAuth: false)
            }
        case "OAUTHBEARER":
            return env("KP_KAFKA_SASL_TOKEN").map { .oauthBearer(token: $0) }
        case "AWS_MSK_IAM":
            guard let key = env("KP_KAFKA_SASL_AWS")?.split(separator: ":"), key.count == 2,
                  let region = env("KP_KAFKA_SASL_REGION") else { return nil }
            return .awsMSKIAM(credentials: AWSCredentials(accessKeyID: String(key[0]), secretAccessKey: String(key[1])),
                              region: region, userAgent: "kafka-pipe-tests")
        case "AWS_MSK_IAM+session":
            guard let key = env("KP_KAFKA_SASL_AWS_SESSION")?.split(separator: ":"), key.count == 3,
                  let region = env("KP_KAFKA_SASL_REGION") else { return nil }
            return .awsMSKIAM(credentials: AWSCredentials(accessKeyID: String(key[0]), secretAccessKey: String(key[1]),
                                                          sessionToken: String(key[2])),
                              region: region, userAgent: "kafka-pipe-tests")
        default: return nil
        }
    }

    /// The same mechanism with a wrong secret, and that secret.
    static func bad(_ mechanism: String) -> (SASLMechanismConfig, String)? {
        let wrong = "wrong-secret-\(UInt32.random(in: 1000...9999))"
        switch good(mechanism) {
        case .plain(let u, _, _)?: return (.plain(user: u, password: wrong, authzid: nil), wrong)
        case .scram(let m, let u, _, _, _, _)?: return (.scram(m, user: u, password: wrong, authzid: nil, nonce: nil, tokenAuth: false), wrong)
        case .oauthBearer?: return (.oauthBearer(token: wrong), wrong)
        case .awsMSKIAM(let c, let r, let ua)?:
            return (.awsMSKIAM(credentials: AWSCredentials(accessKeyID: c.accessKeyID, secretAccessKey: wrong,
                                                           sessionToken: c.sessionToken), region: r, userAgent: ua), wrong)
        case nil: return nil
        }
    }

    static func withClient<T>(_ servers: String, _ security: KafkaSecurity,
                              _ body: (KafkaCluster, KafkaProducer) async throws -> T) async throws -> T {
        var config = try KafkaClientConfiguration(bootstrapServers: servers, clientID: "kp-sasl-tests")
        config.requestTimeout = .seconds(20)
        config.security = security
        let cluster = KafkaCluster(configuration: config)
        let producer = KafkaProducer(cluster: cluster, configuration: KafkaProducerConfiguration())
        return try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await producer.run() }
            defer { group.cancelAll() }
            do {
                let result = try await body(cluster, producer)
                group.cancelAll()
                await cluster.shutdown()
                return result
            } catch {
                group.cancelAll()
                await cluster.shutdown()
                throw error
            }
        }
    }

    /// Creates a topic, produces `count` records and reads them back.
    static func roundTrip(_ cluster: KafkaCluster, _ producer: KafkaProducer, tag: String, count: Int = 5) async throws {
        let topic = TestEnv.unique("sasl_\(tag)")
        try await KafkaAdmin(cluster: cluster).createTopics([.init(name: topic, partitions: 1)])
        for i in 0..<count {
            _ = try await producer.send(topic: topic, key: Array("k\(i)".utf8), value: Array("\(tag)-\(i)".utf8))
        }
        let got = try await ClientLiveTests.fetchAll(cluster, topic: topic, count: count)
        let values = (got[0] ?? []).compactMap { ClientLiveTests.bytes($0.value) }.map { String(decoding: $0, as: UTF8.self) }
        #expect(values == (0..<count).map { "\(tag)-\($0)" })
    }

    static let mechanisms = ["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512", "OAUTHBEARER", "AWS_MSK_IAM", "AWS_MSK_IAM+session"]

    @Test(arguments: Listener.allCases, mechanisms)
    func goodCredentialsProduceAndFetch(listener: Listener, mechanism: String) async throws {
        guard let sasl = Self.good(mechanism), let (servers, security) = Self.security(listener, sasl) else { return }
        try await Self.withClient(servers, security) { cluster, producer in
            try await Self.roundTrip(cluster, producer, tag: "\(listener.rawValue)_\(mechanism.filter(\.isLetter).lowercased())")
        }
    }

    @Test(arguments: Listener.allCases, mechanisms)
    func badCredentialsFailClearly(listener: Listener, mechanism: String) async throws {
        guard let (sasl, secret) = Self.bad(mechanism), let (servers, security) = Self.security(listener, sasl) else { return }
        let error = try await #require(throws: KafkaWireError.self) {
            try await Self.withClient(servers, security) { cluster, _ in
                _ = try await KafkaAdmin(cluster: cluster).metadata(topics: [])
            }
        }
        #expect(error.code == .saslAuthenticationFailed, "\(error)")
        let text = "\(error) \(String(reflecting: error))"
        #expect(text.contains(sasl.mechanismName), "\(text)")
        #expect(text.contains(servers), "\(text)")
        #expect(!text.contains(secret))
    }

    /// The gateway gives user `reauth` a 3 s session and drops a connection that uses an expired
    /// one; producing for ~8 s works only when the client re-authenticates in time.
    @Test func reauthenticatesBeforeTheSessionExpires() async throws {
        guard let servers = Self.env("KP_KAFKA_SASL"), let statusPath = Self.env("KP_KAFKA_SASL_STATUS"),
              let users = Self.env("KP_KAFKA_SASL_USERS") else { return }
        guard let pass = users.split(separator: " ").map({ $0.split(separator: ":", maxSplits: 1) })
            .first(where: { $0.first == "reauth" })?.last else {
            Issue.record("KP_KAFKA_SASL_USERS has no user `reauth`")
            return
        }
        /// (first authentications, re-authentications) of user `reauth`, and the gateway's count of
        /// re-authentications begun with requests in flight or interleaved with other requests.
        func counts() throws -> (Int, Int, Int) {
            let data = try Data(contentsOf: URL(fileURLWithPath: statusPath))
            let json = try JSONSerialization.jsonObject(with: data) as? [String: Any]
            let user = (json?["by_user"] as? [String: Any])?["reauth"] as? [String: Any]
            return (user?["authentications"] as? Int ?? 0, user?["reauthentications"] as? Int ?? 0,
                    json?["violations"] as? Int ?? 0)
        }
        let before = try counts()
        let security = KafkaSecurity(sasl: .scram(.sha256, user: "reauth", password: String(pass), authzid: nil,
                                                  nonce: nil, tokenAuth: false))
        try await Self.withClient(servers, security) { cluster, producer in
            let topic = TestEnv.unique("sasl_reauth")
            try await KafkaAdmin(cluster: cluster).createTopics([.init(name: topic, partitions: 1)])
            let start = ContinuousClock.now
            var sent = 0
            // Several records in flight at a time, so renewals meet outstanding requests.
            while ContinuousClock.now - start < .seconds(8) {
                var reports: [DeliveryFuture] = []
                for _ in 0..<8 {
                    reports.append(try await producer.enqueue(topic: topic, key: nil, value: Array("r\(sent)".utf8)))
                    sent += 1
                }
                for r in reports { _ = try await r.get() }
                try await Task.sleep(for: .milliseconds(20))
            }
            let got = try await ClientLiveTests.fetchAll(cluster, topic: topic, count: sent)
            #expect(got[0]?.count == sent)
        }
        let after = try counts()
        #expect(after.1 >= before.1 + 2, "the gateway saw too few re-authentications: \(before) → \(after)")
        // An expired session makes the gateway drop the connection and the client connect (and
        // authenticate) anew: two first authentications (seed and broker connection) at most.
        #expect(after.0 - before.0 <= 2, "the client reconnected: \(before) → \(after)")
        #expect(after.2 == before.2, "a renewal overlapped other requests: \(before) → \(after)")
    }

    @Test func tlsToStunnel() async throws {
        guard let servers = Self.env("KP_KAFKA_TLS"), let ca = Self.env("KP_TLS_CA") else { return }
        try await Self.withClient(servers, KafkaSecurity(tls: TLSConfiguration(caFile: ca))) { cluster, producer in
            try await Self.roundTrip(cluster, producer, tag: "tls")
        }
    }

    @Test func mutualTLSToStunnel() async throws {
        guard let servers = Self.env("KP_KAFKA_MTLS"), let ca = Self.env("KP_TLS_CA"),
              let cert = Self.env("KP_TLS_CLIENT_CERT"), let key = Self.env("KP_TLS_CLIENT_KEY") else { return }
        try await Self.withClient(servers, KafkaSecurity(tls: TLSConfiguration(caFile: ca, certFile: cert, keyFile: key))) { cluster, producer in
            try await Self.roundTrip(cluster, producer, tag: "mtls")
        }
        // Without the client certificate the broker refuses the connection.
        await #expect(throws: KafkaWireError.self) {
            try await Self.withClient(servers, KafkaSecurity(tls: TLSConfiguration(caFile: ca))) { cluster, _ in
                _ = try await KafkaAdmin(cluster: cluster).metadata(topics: [])
            }
        }
    }

    @Test func tlsWithAnotherCAIsRefused() async throws {
        guard let servers = Self.env("KP_KAFKA_TLS"), let other = TestEnv.value("KP_TLS_OTHER_CA") else { return }
        let error = try await #require(throws: KafkaWireError.self) {
            try await Self.withClient(servers, KafkaSecurity(tls: TLSConfiguration(caFile: other))) { cluster, _ in
                _ = try await KafkaAdmin(cluster: cluster).metadata(topics: [])
            }
        }
        #expect(error.code == .tlsFailed, "\(error)")
    }
}

// MARK: - the re-authentication gate of the channel handler, no network

@Suite struct ReauthenticationGateTests {
    static func request(_ channel: EmbeddedChannel, exclusive: Bool) throws -> (KafkaOutboundRequest, EventLoopPromise<ByteBuffer>) {
        var frame = ByteBuffer()
        try KafkaFrame.encodeRequest(MetadataRequest(), version: 12, correlationId: 0, clientId: "t", into: &frame)
        let p = channel.eventLoop.makePromise(of: ByteBuffer.self)
        return (KafkaOutboundRequest(frame: frame, apiKey: 3, apiVersion: 12, timeout: .seconds(30), promise: p,
                                     exclusive: exclusive), p)
    }

    static func respond(_ channel: EmbeddedChannel, _ id: Int32) throws {
        var body = ByteBuffer()
        try KafkaResponseHeader(correlationId: id).encode(into: &body, version: 1)
        try MetadataResponse().encode(into: &body, version: 12)
        var frame = ByteBuffer()
        frame.writeInteger(Int32(body.readableBytes))
        frame.writeBuffer(&body)
        try channel.writeInbound(frame)
    }

    static func written(_ channel: EmbeddedChannel) throws -> [Int32?] {
        var ids: [Int32?] = []
        for frame in try outboundFrames(channel) { ids.append(frame.getInteger(at: frame.readerIndex + 8, as: Int32.self)) }
        return ids
    }

    /// A renewal waits for the request before it; a request written during the renewal waits
    /// until the renewal ends; everything keeps its order.
    @Test func renewalWaitsForInFlightAndHoldsOthers() throws {
        let channel = EmbeddedChannel(handler: KafkaChannelHandler(peer: "gate:1"))
        let (a, pa) = try Self.request(channel, exclusive: false)
        channel.writeAndFlush(a, promise: nil)
        #expect(try Self.written(channel) == [1])

        let (handshake, ph) = try Self.request(channel, exclusive: true)
        channel.writeAndFlush(handshake, promise: nil)
        let (b, pb) = try Self.request(channel, exclusive: false)
        channel.writeAndFlush(b, promise: nil)
        #expect(try Self.written(channel) == [], "nothing goes out while request 1 is in flight")

        try Self.respond(channel, 1)
        _ = try pa.futureResult.wait()
        #expect(try Self.written(channel) == [2], "the renewal goes out once request 1 is answered")

        let (auth, pAuth) = try Self.request(channel, exclusive: true)
        try Self.respond(channel, 2)
        _ = try ph.futureResult.wait()
        channel.writeAndFlush(auth, promise: nil)
        #expect(try Self.written(channel) == [3], "the exchange's next step goes out; the held request does not")
        try Self.respond(channel, 3)
        _ = try pAuth.futureResult.wait()
        #expect(try Self.written(channel) == [])

        try channel.triggerUserOutboundEvent(KafkaExclusiveEnd()).wait()
        #expect(try Self.written(channel) == [4], "the held request goes out after the renewal")
        try Self.respond(channel, 4)
        _ = try pb.futureResult.wait()
        _ = try? channel.finish()
    }

    @Test func heldRequestsFailWhenTheConnectionCloses() throws {
        let channel = EmbeddedChannel(handler: KafkaChannelHandler(peer: "gate:2"))
        let (a, _) = try Self.request(channel, exclusive: false)
        channel.writeAndFlush(a, promise: nil)
        let (e, pe) = try Self.request(channel, exclusive: true)
        channel.writeAndFlush(e, promise: nil)
        let (b, pb) = try Self.request(channel, exclusive: false)
        channel.writeAndFlush(b, promise: nil)
        _ = try channel.close().wait()
        #expect(throws: KafkaWireError.self) { try pe.futureResult.wait() }
        #expect(throws: KafkaWireError.self) { try pb.futureResult.wait() }
    }
}

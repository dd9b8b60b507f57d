import Connectors
import KafkaWire
import PipeAuth
import PipeConfig
import PipeTLS
import Testing

@Suite struct KafkaSettingsClientTests {
    @Test func brokersClientIDAndTLS() {
        let settings = KafkaSettings(brokers: [HostPort(host: "k1", port: 9093), HostPort(host: "k2", port: 9094)],
                                     clientID: "cid",
                                     tls: TLSSettings(caFile: "/ca.pem", certFile: "/c.pem", keyFile: "/c.key",
                                                      serverName: "kafka.internal"))
        let c = settings.clientConfiguration()
        #expect(c.bootstrap == [.init(host: "k1", port: 9093), .init(host: "k2", port: 9094)])
        #expect(c.clientID == "cid")
        #expect(c.security.tls == TLSConfiguration(caFile: "/ca.pem", certFile: "/c.pem", keyFile: "/c.key",
                                                   serverName: "kafka.internal"))
        #expect(c.security.tls?.useSystemTrustStore == false)
        #expect(c.security.sasl == nil)
    }

    @Test func plaintextWithoutTLSOrSASL() {
        let c = KafkaSettings(brokers: [HostPort(host: "k", port: 9092)]).clientConfiguration()
        #expect(c.security.tls == nil && c.security.sasl == nil)
    }

    @Test func everyMechanismMaps() {
        func map(_ s: SASLSettings) -> SASLMechanismConfig? {
            KafkaSettings(brokers: [HostPort(host: "k", port: 9092)], sasl: s, tls: TLSSettings()).clientConfiguration().security.sasl
        }
        guard case .plain("u", "p", "z")? = map(SASLSettings(mechanism: .plain, user: "u", pass: "p", zid: "z")) else {
            Issue.record("plain"); return
        }
        guard case .plain("u", "p", nil)? = map(SASLSettings(mechanism: .plain, user: "u", pass: "p")) else {
            Issue.record("plain without zid"); return
        }
        guard case .scram(.sha256, "u", "p", nil, "n0", true)? =
                map(SASLSettings(mechanism: .scram256, user: "u", pass: "p", nonce: "n0", isToken: true)) else {
            Issue.record("scram-256"); return
        }
        guard case .scram(.sha512, "u", "p", nil, nil, false)? = map(SASLSettings(mechanism: .scram512, user: "u", pass: "p")) else {
            Issue.record("scram-512"); return
        }
        guard case .oauthBearer("t")? = map(SASLSettings(mechanism: .oauth, token: "t")) else {
            Issue.record("oauth"); return
        }
        guard case .awsMSKIAM(let creds, "eu-west-1", "ua")? =
                map(SASLSettings(mechanism: .aws, accessKey: "AK", secretKey: "SK", sessionToken: "ST",
                                 userAgent: "ua", region: "eu-west-1")) else {
            Issue.record("aws"); return
        }
        #expect(creds == AWSCredentials(accessKeyID: "AK", secretAccessKey: "SK", sessionToken: "ST"))
    }

    @Test func mappedConfigurationDoesNotShowSecrets() {
        let s = SASLSettings(mechanism: .scram512, user: "alice", pass: "very-secret-pass")
        let c = KafkaSettings(brokers: [HostPort(host: "k", port: 9092)], sasl: s, tls: TLSSettings()).clientConfiguration()
        let text = "\(c.security) \(String(reflecting: c.security)) \(String(describing: c.security.sasl))"
        #expect(text.contains("alice"))
        #expect(!text.contains("very-secret-pass"))
    }
}

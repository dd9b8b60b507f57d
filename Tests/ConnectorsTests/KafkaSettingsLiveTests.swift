import Foundation
import Connectors
import KafkaWire
import PipeConfig
import PipeTestSupport
import Testing

/// A connector file's `kafka:sasl` and `kafka:tls` all the way to an authenticated connection:
/// YAML → PipeConfig → `clientConfiguration()` → the SASL gateway over TLS
/// (scripts/services/kafka-sasl.sh).
@Suite struct KafkaSettingsLiveTests {
    static func env(_ name: String) -> String? {
        TestEnv.require(name) { Issue.record(Comment(rawValue: $0)) }
    }

    static func yaml(broker: String, kafkaExtra: String) throws -> String {
        let example = TestEnv.repoRoot.appendingPathComponent("Tests/PipeConfigTests/Examples/ch-sink.yaml")
        let text = try String(contentsOf: example, encoding: .utf8)
        let brokers = "  brokers:\n    - 127.0.0.1:9092\n"
        #expect(text.contains(brokers))
        return text.replacingOccurrences(of: brokers, with: "  brokers:\n    - \(broker)\n" + kafkaExtra)
    }

    @Test(arguments: ["scram-256", "scram-512", "plain"])
    func configFileAuthenticatesOverTLS(protocolName: String) async throws {
        guard let servers = Self.env("KP_KAFKA_SASL_TLS"), let ca = Self.env("KP_TLS_CA"),
              let users = Self.env("KP_KAFKA_SASL_USERS") else { return }
        let pair = try #require(users.split(separator: " ").first?.split(separator: ":", maxSplits: 1))
        for (password, shouldWork) in [(String(pair[1]), true), ("not-the-password-42", false)] {
            let text = try Self.yaml(broker: servers, kafkaExtra: """
                  sasl:
                    protocol: \(protocolName)
                    user: \(pair[0])
                    pass: \(password)
                  tls:
                    ca_file: \(ca)

                """)
            let config = try ConfigLoader.parse(text: text, file: "test.yaml", environment: [:])
            var client = config.kafka.clientConfiguration()
            client.requestTimeout = .seconds(20)
            let cluster = KafkaCluster(configuration: client)
            defer { Task { await cluster.shutdown() } }
            if shouldWork {
                let meta = try await KafkaAdmin(cluster: cluster).metadata(topics: [])
                #expect(!meta.brokers.isEmpty)
            } else {
                let error = try await #require(throws: KafkaWireError.self) {
                    _ = try await KafkaAdmin(cluster: cluster).metadata(topics: [])
                }
                #expect(error.code == .saslAuthenticationFailed)
                #expect(!"\(error)".contains(password))
            }
            await cluster.shutdown()
        }
    }
}

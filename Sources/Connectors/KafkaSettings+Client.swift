public import KafkaWire
public import PipeConfig
public import PipeAuth
public import PipeTLS

extension KafkaSettings {
    /// The Kafka client configuration of these settings (SPEC §2.1 `kafka:*`): brokers, client
    /// id, `kafka:tls:*` and `kafka:sasl:*`. PipeConfig has already applied the defaults (TLS on
    /// when SASL is set without `tls`; AWS keys, session token and region from the environment).
    public func clientConfiguration() -> KafkaClientConfiguration {
        var configuration = KafkaClientConfiguration(
            bootstrap: brokers.map { KafkaClientConfiguration.Broker(host: $0.host, port: $0.port) },
            clientID: clientID)
        configuration.security = KafkaSecurity(tls: tls?.tlsConfiguration, sasl: sasl?.mechanismConfig)
        return configuration
    }
}

extension TLSSettings {
    /// PipeTLS settings: the CA file (else the system store), client certificate, server name.
    public var tlsConfiguration: TLSConfiguration {
        TLSConfiguration(caFile: caFile, certFile: certFile, keyFile: keyFile, serverName: serverName,
                         insecureSkipVerify: insecureSkipVerify)
    }
}

extension SASLSettings {
    /// The KafkaWire mechanism with its credentials (an empty `zid` is no authorization id).
    public var mechanismConfig: SASLMechanismConfig {
        let authzid = zid.isEmpty ? nil : zid
        switch mechanism {
        case .plain:
            return .plain(user: user, password: pass, authzid: authzid)
        case .scram256:
            return .scram(.sha256, user: user, password: pass, authzid: authzid, nonce: nonce, tokenAuth: isToken)
        case .scram512:
            return .scram(.sha512, user: user, password: pass, authzid: authzid, nonce: nonce, tokenAuth: isToken)
        case .oauth:
            return .oauthBearer(token: token)
        case .aws:
            return .awsMSKIAM(credentials: AWSCredentials(accessKeyID: accessKey, secretAccessKey: secretKey,
                                                          sessionToken: sessionToken),
                              region: region, userAgent: userAgent)
        }
    }
}

public import PipeAuth
public import PipeTLS

/// A SASL mechanism and its credentials. The description names the mechanism and the user,
/// never a password, token or secret key.
public enum SASLMechanismConfig: Sendable, CustomStringConvertible, CustomReflectable {
    /// PLAIN (RFC 4616): `authzid NUL user NUL password`.
    case plain(user: String, password: String, authzid: String?)
    /// SCRAM-SHA-256 / SCRAM-SHA-512 (RFC 5802), without SASLprep as Kafka's server does.
    case scram(SCRAMClient.Mechanism, user: String, password: String, authzid: String?,
               nonce: String?, tokenAuth: Bool)
    /// OAUTHBEARER (RFC 7628) with a static token.
    case oauthBearer(token: String)
    /// AWS_MSK_IAM: a SigV4-signed JSON payload (service `kafka-cluster`).
    case awsMSKIAM(credentials: AWSCredentials, region: String, userAgent: String)

    /// The mechanism name sent in SaslHandshake.
    public var mechanismName: String {
        switch self {
        case .plain: "PLAIN"
        case .scram(let m, _, _, _, _, _): m.name
        case .oauthBearer: "OAUTHBEARER"
        case .awsMSKIAM: MSKIAM.mechanism
        }
    }

    public var description: String {
        switch self {
        case .plain(let user, _, _), .scram(_, let user, _, _, _, _):
            "\(mechanismName)(user: \(user), password: ***)"
        case .oauthBearer: "OAUTHBEARER(token: ***)"
        case .awsMSKIAM(let credentials, let region, _):
            "AWS_MSK_IAM(accessKeyID: \(credentials.accessKeyID), region: \(region), secret: ***)"
        }
    }

    public var customMirror: Mirror { Mirror(self, children: ["mechanism": description]) }
}

/// How a connection is secured: TLS first (when set), then SASL (when set), before any request
/// other than ApiVersions.
public struct KafkaSecurity: Sendable {
    public var tls: TLSConfiguration?
    public var sasl: SASLMechanismConfig?
    /// A session with a lifetime (SaslAuthenticate v1+) is renewed when this fraction of it
    /// has passed (default 0.85; Kafka's client picks 85-95 %).
    public var reauthenticateAt: Double

    public init(tls: TLSConfiguration? = nil, sasl: SASLMechanismConfig? = nil, reauthenticateAt: Double = 0.85) {
        self.tls = tls
        self.sasl = sasl
        self.reauthenticateAt = reauthenticateAt
    }
}

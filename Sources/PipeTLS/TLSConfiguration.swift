public import NIOCore

/// Client TLS settings, shared by the Kafka, PostgreSQL, ClickHouse and S3 clients.
public struct TLSConfiguration: Sendable, Hashable {
    public enum Version: Sendable, Hashable, Comparable {
        case tls12, tls13
    }

    /// PEM file of CA certificates to trust.
    public var caFile: String?
    /// Also trust the system's CA store. Defaults to true exactly when `caFile` is nil.
    public var useSystemTrustStore: Bool
    /// PEM client certificate (chain) and its private key, for mutual TLS.
    public var certFile: String?
    public var keyFile: String?
    /// The name sent in SNI and checked against the server certificate's SAN; when nil, the host
    /// being connected to. An IP literal is checked against IP SANs and not sent in SNI.
    public var serverName: String?
    /// Accept any certificate and any name. For tests against throwaway servers only: every
    /// handshake logs a warning.
    public var insecureSkipVerify: Bool
    /// Lowest protocol version offered (default TLS 1.2).
    public var minVersion: Version
    /// Highest protocol version offered (default: the newest OpenSSL has).
    public var maxVersion: Version?
    /// The handshake fails with `TLSError.Code.handshakeTimeout` when it takes longer (default 10 s).
    public var handshakeTimeout: TimeAmount

    public init(caFile: String? = nil, useSystemTrustStore: Bool? = nil, certFile: String? = nil,
                keyFile: String? = nil, serverName: String? = nil, insecureSkipVerify: Bool = false,
                minVersion: Version = .tls12, maxVersion: Version? = nil, handshakeTimeout: TimeAmount = .seconds(10)) {
        self.handshakeTimeout = handshakeTimeout
        self.caFile = caFile
        self.useSystemTrustStore = useSystemTrustStore ?? (caFile == nil)
        self.certFile = certFile
        self.keyFile = keyFile
        self.serverName = serverName
        self.insecureSkipVerify = insecureSkipVerify
        self.minVersion = minVersion
        self.maxVersion = maxVersion
    }
}

/// Settings of the server side, used by tests (an in-process TLS peer) and local tooling.
public struct TLSServerConfiguration: Sendable, Hashable {
    public var certFile: String
    public var keyFile: String
    /// When set, client certificates are verified against these CAs.
    public var clientCAFile: String?
    /// Refuse clients without a certificate (needs `clientCAFile`).
    public var requireClientCertificate: Bool
    public var minVersion: TLSConfiguration.Version
    public var maxVersion: TLSConfiguration.Version?

    public init(certFile: String, keyFile: String, clientCAFile: String? = nil, requireClientCertificate: Bool = false,
                minVersion: TLSConfiguration.Version = .tls12, maxVersion: TLSConfiguration.Version? = nil) {
        self.certFile = certFile
        self.keyFile = keyFile
        self.clientCAFile = clientCAFile
        self.requireClientCertificate = requireClientCertificate
        self.minVersion = minVersion
        self.maxVersion = maxVersion
    }
}

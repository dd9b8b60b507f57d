import Logging
import NIOCore
import PipeAuth
import PipeTLS

extension SCRAMClient: SASLSession {}

/// Glue to the shared authentication (PipeAuth) and TLS (PipeTLS) modules.
enum PgAuthentication {
    /// MD5 and SCRAM-SHA-256 from PipeAuth.
    static var mechanisms: PasswordMechanisms? {
        PasswordMechanisms(
            makeSCRAMSHA256: { user, password in SCRAMClient(mechanism: .sha256, username: user, password: password) },
            md5Answer: { user, password, salt in
                // "md5" + hex(md5(hex(md5(password + user)) + salt))
                let inner = Hex.encode(Digest.md5.hash(Array((password + user).utf8)))
                return "md5" + Hex.encode(Digest.md5.hash(Array(inner.utf8) + salt))
            })
    }

    /// Adds the TLS client handler in front of the protocol handler and waits for the handshake.
    /// `prefer`/`require` encrypt without verifying (as libpq without a root certificate);
    /// `verify-ca` and `verify-full` verify the chain against `sslrootcert` (or the system store)
    /// and the host name (PipeTLS has no chain-only mode, so verify-ca is as strict as verify-full).
    static func startTLS(_ channel: any Channel, _ c: PostgresConfiguration) async throws {
        let verify = c.sslMode == .verifyCA || c.sslMode == .verifyFull
        let tls = TLSConfiguration(caFile: c.sslRootCert, serverName: c.host, insecureSkipVerify: !verify)
        do {
            try await addTLS(to: channel, configuration: tls, serverHostname: c.host, logger: Logger(label: "PgWire.TLS")).get()
        } catch {
            throw PostgresError(code: .tlsUnavailable, context: "TLS handshake with \(c.endpoint) failed", cause: error)
        }
    }
}

extension PostgresConnection {
    /// The MD5 and SCRAM-SHA-256 implementations connections use.
    public static var passwordMechanisms: PasswordMechanisms? { PgAuthentication.mechanisms }
}

import NIOCore

/// Glue to the shared authentication (PipeAuth) and TLS (PipeTLS) modules.
enum PgAuthentication {
    /// MD5 and SCRAM-SHA-256; nil until the shared implementations are wired in.
    static var mechanisms: PasswordMechanisms? { nil }

    /// Adds the TLS client handler in front of the protocol handler and waits for the handshake.
    static func startTLS(_ channel: any Channel, _ configuration: PostgresConfiguration) async throws {
        throw PostgresError(code: .tlsUnavailable, context: "TLS is not available in this build")
    }
}

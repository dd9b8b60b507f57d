internal import COpenSSL

/// A configured `SSL_CTX`: load the CA store, certificate and key once, then make one session
/// per connection. Immutable after creation, so it can be shared across event loops.
public final class TLSContext: @unchecked Sendable {
    let ctx: OpaquePointer
    /// The client settings; nil for a server context.
    public let configuration: TLSConfiguration?
    let isServer: Bool

    /// A client context.
    public init(configuration: TLSConfiguration) throws {
        guard let ctx = SSL_CTX_new(TLS_client_method()) else {
            throw TLSError(.configuration, "SSL_CTX_new failed", openSSLErrors: drainErrorQueue())
        }
        self.ctx = ctx
        self.configuration = configuration
        self.isServer = false
        try Self.setVersions(ctx, min: configuration.minVersion, max: configuration.maxVersion)
        Self.setCommonOptions(ctx)

        if configuration.insecureSkipVerify {
            SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, nil)
        } else {
            SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, nil)
            if let caFile = configuration.caFile {
                guard SSL_CTX_load_verify_locations(ctx, caFile, nil) == 1 else {
                    throw TLSError(.configuration, "cannot load CA file \(caFile)", openSSLErrors: drainErrorQueue())
                }
            }
            if configuration.useSystemTrustStore || configuration.caFile == nil {
                guard SSL_CTX_set_default_verify_paths(ctx) == 1 else {
                    throw TLSError(.configuration, "cannot load the system trust store", openSSLErrors: drainErrorQueue())
                }
            }
        }
        switch (configuration.certFile, configuration.keyFile) {
        case (nil, nil):
            break
        case (let cert?, let key?):
            try Self.useCertificate(ctx, certFile: cert, keyFile: key)
        default:
            throw TLSError(.configuration, "a client certificate needs both cert_file and key_file")
        }
    }

    /// A server context (tests, local tools).
    public init(server: TLSServerConfiguration) throws {
        guard let ctx = SSL_CTX_new(TLS_server_method()) else {
            throw TLSError(.configuration, "SSL_CTX_new failed", openSSLErrors: drainErrorQueue())
        }
        self.ctx = ctx
        self.configuration = nil
        self.isServer = true
        try Self.setVersions(ctx, min: server.minVersion, max: server.maxVersion)
        Self.setCommonOptions(ctx)
        try Self.useCertificate(ctx, certFile: server.certFile, keyFile: server.keyFile)
        if let clientCAFile = server.clientCAFile {
            guard SSL_CTX_load_verify_locations(ctx, clientCAFile, nil) == 1 else {
                throw TLSError(.configuration, "cannot load client CA file \(clientCAFile)", openSSLErrors: drainErrorQueue())
            }
            if let names = SSL_load_client_CA_file(clientCAFile) { SSL_CTX_set_client_CA_list(ctx, names) }
            var mode = SSL_VERIFY_PEER
            if server.requireClientCertificate { mode |= SSL_VERIFY_FAIL_IF_NO_PEER_CERT }
            SSL_CTX_set_verify(ctx, mode, nil)
        } else if server.requireClientCertificate {
            throw TLSError(.configuration, "requiring client certificates needs a client CA file")
        }
    }

    deinit { SSL_CTX_free(ctx) }

    private static func setVersions(_ ctx: OpaquePointer, min: TLSConfiguration.Version, max: TLSConfiguration.Version?) throws {
        func number(_ v: TLSConfiguration.Version) -> Int32 {
            switch v {
            case .tls12: TLS1_2_VERSION
            case .tls13: TLS1_3_VERSION
            }
        }
        if let max, max < min {
            throw TLSError(.configuration, "maximum TLS version is below the minimum")
        }
        guard copenssl_ctx_set_min_proto_version(ctx, number(min)) == 1,
              copenssl_ctx_set_max_proto_version(ctx, max.map(number) ?? 0) == 1 else {
            throw TLSError(.configuration, "cannot set the TLS version range", openSSLErrors: drainErrorQueue())
        }
    }

    private static func setCommonOptions(_ ctx: OpaquePointer) {
        _ = copenssl_ctx_set_options(ctx, copenssl_op_no_compression() | copenssl_op_no_renegotiation())
        _ = copenssl_ctx_set_mode(ctx, copenssl_mode_release_buffers())
    }

    private static func useCertificate(_ ctx: OpaquePointer, certFile: String, keyFile: String) throws {
        guard SSL_CTX_use_certificate_chain_file(ctx, certFile) == 1 else {
            throw TLSError(.configuration, "cannot load certificate \(certFile)", openSSLErrors: drainErrorQueue())
        }
        guard SSL_CTX_use_PrivateKey_file(ctx, keyFile, SSL_FILETYPE_PEM) == 1 else {
            // The queue says why (format, permissions); it never holds the key itself.
            throw TLSError(.configuration, "cannot load private key \(keyFile)", openSSLErrors: drainErrorQueue())
        }
        guard SSL_CTX_check_private_key(ctx) == 1 else {
            throw TLSError(.configuration, "private key \(keyFile) does not match certificate \(certFile)",
                           openSSLErrors: drainErrorQueue())
        }
    }
}

/// Empties this thread's OpenSSL error queue into readable lines.
func drainErrorQueue() -> [String] {
    var lines: [String] = []
    while true {
        let code = ERR_get_error()
        if code == 0 { break }
        lines.append(errorString(code))
    }
    return lines
}

func errorString(_ code: UInt) -> String {
    var buffer = [CChar](repeating: 0, count: 256)
    ERR_error_string_n(code, &buffer, buffer.count)
    return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
}

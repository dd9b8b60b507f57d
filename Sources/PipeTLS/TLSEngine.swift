import Logging
import NIOCore
internal import COpenSSL

/// Sent with `fireUserInboundEventTriggered` when the handshake is done.
public enum TLSEvent: Sendable, Equatable {
    /// `version` as OpenSSL names it ("TLSv1.3").
    case handshakeCompleted(version: String)
}

/// The OpenSSL session behind both handlers: one `SSL` over two memory BIOs. Bytes from the
/// network go into `rbio`; whatever OpenSSL wants to send is taken from `wbio` and written to the
/// channel. All calls happen on the channel's event loop (OpenSSL's error queue is per thread).
final class TLSEngine {
    enum Role {
        case client(serverName: String?)
        case server
    }

    enum State {
        case idle, handshaking, active, closed, failed
    }

    let tlsContext: TLSContext
    let role: Role
    let logger: Logger
    private(set) var state: State = .idle
    private var ssl: OpaquePointer?
    private var rbio: OpaquePointer?
    private var wbio: OpaquePointer?
    private var handshakePromise: EventLoopPromise<Void>?
    private var pendingWrites: [(ByteBuffer, EventLoopPromise<Void>?)] = []
    private var flushPending = false
    private var setupError: TLSError?
    private var handshakeTimer: Scheduled<Void>?

    init(context: TLSContext, role: Role, logger: Logger, handshakePromise: EventLoopPromise<Void>?) {
        self.tlsContext = context
        self.role = role
        self.logger = logger
        self.handshakePromise = handshakePromise
    }

    deinit {
        if let ssl { SSL_free(ssl) }
    }

    var peerName: String {
        if case .client(let name) = role { return name ?? "server" }
        return "client"
    }

    var insecure: Bool { tlsContext.configuration?.insecureSkipVerify ?? false }

    // MARK: lifecycle

    func handlerAdded(context: ChannelHandlerContext) {
        if handshakePromise == nil { handshakePromise = context.eventLoop.makePromise(of: Void.self) }
        do {
            try makeSession()
        } catch let error as TLSError {
            setupError = error
        } catch {
            setupError = TLSError(.configuration, "\(error)")
        }
        if context.channel.isActive { start(context: context) }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        handshakeTimer?.cancel()
        handshakeTimer = nil
        let error = TLSError(.ioError, "TLS handler removed")
        handshakePromise?.fail(error)
        handshakePromise = nil
        failPendingWrites(error)
        if let ssl { SSL_free(ssl) }
        ssl = nil
        state = .closed
    }

    var handshakeFuture: EventLoopFuture<Void>? { handshakePromise?.futureResult }

    private func makeSession() throws {
        guard let ssl = SSL_new(tlsContext.ctx) else {
            throw TLSError(.configuration, "SSL_new failed", openSSLErrors: drainErrorQueue())
        }
        self.ssl = ssl
        guard let rbio = BIO_new(BIO_s_mem()), let wbio = BIO_new(BIO_s_mem()) else {
            throw TLSError(.configuration, "BIO_new failed", openSSLErrors: drainErrorQueue())
        }
        SSL_set_bio(ssl, rbio, wbio)  // the SSL owns both BIOs from here on
        self.rbio = rbio
        self.wbio = wbio
        switch role {
        case .server:
            SSL_set_accept_state(ssl)
        case .client(let serverName):
            SSL_set_connect_state(ssl)
            guard let serverName, !serverName.isEmpty else {
                if insecure { return }
                throw TLSError(.configuration, "no server name to verify the certificate against")
            }
            let ip = ipLiteral(serverName)
            if !insecure {
                let param = SSL_get0_param(ssl)
                X509_VERIFY_PARAM_set_hostflags(param, UInt32(X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS))
                let ok = if let ip { X509_VERIFY_PARAM_set1_ip_asc(param, ip) } else { X509_VERIFY_PARAM_set1_host(param, serverName, 0) }
                guard ok == 1 else {
                    throw TLSError(.configuration, "cannot verify against name \(serverName)", openSSLErrors: drainErrorQueue())
                }
            }
            // SNI carries DNS names only (RFC 6066 §3).
            if ip == nil {
                guard copenssl_set_tlsext_host_name(ssl, serverName) == 1 else {
                    throw TLSError(.configuration, "cannot set SNI \(serverName)", openSSLErrors: drainErrorQueue())
                }
            }
        }
    }

    func start(context: ChannelHandlerContext) {
        guard case .idle = state else { return }
        if let setupError {
            fail(context: context, setupError)
            return
        }
        state = .handshaking
        let timeout = tlsContext.configuration?.handshakeTimeout ?? .seconds(10)
        let bound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        handshakeTimer = context.eventLoop.scheduleTask(in: timeout) {
            let (engine, context) = bound.value
            guard case .handshaking = engine.state else { return }
            engine.fail(context: context, TLSError(.handshakeTimeout, "no TLS handshake with \(engine.peerName) within \(timeout)"))
        }
        if insecure {
            logger.warning("TLS certificate verification is DISABLED (insecure_skip_verify): the connection to \(peerName) is not authenticated")
        }
        driveHandshake(context: context)
    }

    // MARK: inbound

    func channelRead(context: ChannelHandlerContext, data: ByteBuffer) {
        guard let rbio else { return }
        switch state {
        case .closed, .failed: return
        default: break
        }
        var data = data
        while data.readableBytes > 0 {
            let written = data.withUnsafeReadableBytes { bytes in
                BIO_write(rbio, bytes.baseAddress, Int32(min(bytes.count, Int(Int32.max))))
            }
            guard written > 0 else {
                fail(context: context, TLSError(.ioError, "BIO_write failed", openSSLErrors: drainErrorQueue()))
                return
            }
            data.moveReaderIndex(forwardBy: Int(written))
        }
        switch state {
        case .idle:
            start(context: context)
        case .handshaking:
            driveHandshake(context: context)
        case .active:
            readApplicationData(context: context)
        case .closed, .failed:
            break
        }
    }

    private func driveHandshake(context: ChannelHandlerContext) {
        guard let ssl else { return }
        ERR_clear_error()
        let result = SSL_do_handshake(ssl)
        if result == 1 {
            state = .active
            handshakeTimer?.cancel()
            handshakeTimer = nil
            flushOutput(context: context)
            let version = String(cString: SSL_get_version(ssl))
            logger.debug("TLS handshake done", metadata: [
                "tls.peer": "\(peerName)", "tls.version": "\(version)",
                "tls.cipher": "\(String(cString: SSL_CIPHER_get_name(SSL_get_current_cipher(ssl))))",
            ])
            let promise = handshakePromise
            handshakePromise = nil
            promise?.succeed(())
            context.fireUserInboundEventTriggered(TLSEvent.handshakeCompleted(version: version))
            let writes = pendingWrites
            pendingWrites = []
            for (buffer, promise) in writes { write(context: context, data: buffer, promise: promise) }
            if flushPending {
                flushPending = false
                context.flush()
            }
            // Application data may have arrived with the last handshake flight.
            readApplicationData(context: context)
            return
        }
        let code = SSL_get_error(ssl, result)
        if code == SSL_ERROR_WANT_READ || code == SSL_ERROR_WANT_WRITE {
            flushOutput(context: context)
            return
        }
        let error = classify(code, during: "handshake with \(peerName)")
        flushOutput(context: context)  // our alert, if OpenSSL produced one
        fail(context: context, error)
    }

    private func readApplicationData(context: ChannelHandlerContext) {
        guard let ssl else { return }
        var received: ByteBuffer?
        var closeNotify = false
        var failure: TLSError?
        while true {
            var buffer = received ?? context.channel.allocator.buffer(capacity: 16 * 1024)
            ERR_clear_error()
            var count: Int32 = 0
            buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: 16 * 1024) { space in
                count = SSL_read(ssl, space.baseAddress, Int32(min(space.count, 1 << 30)))
                return count > 0 ? Int(count) : 0
            }
            received = buffer
            if count > 0 { continue }
            let code = SSL_get_error(ssl, count)
            if code == SSL_ERROR_WANT_READ || code == SSL_ERROR_WANT_WRITE { break }
            if code == SSL_ERROR_ZERO_RETURN {
                closeNotify = true
            } else {
                failure = classify(code, during: "read from \(peerName)")
            }
            break
        }
        if let received, received.readableBytes > 0 {
            context.fireChannelRead(NIOAny(received))
        }
        flushOutput(context: context)  // e.g. a KeyUpdate answer
        if let failure {
            fail(context: context, failure)
        } else if closeNotify {
            logger.debug("TLS close_notify received", metadata: ["tls.peer": "\(peerName)"])
            state = .closed
            ERR_clear_error()
            SSL_shutdown(ssl)  // answer with our close_notify
            flushOutput(context: context)
            failPendingWrites(TLSError(.closed, "the peer closed the TLS session"))
            context.close(promise: nil)
        }
    }

    // MARK: outbound

    func write(context: ChannelHandlerContext, data: ByteBuffer, promise: EventLoopPromise<Void>?) {
        switch state {
        case .idle, .handshaking:
            pendingWrites.append((data, promise))
        case .closed, .failed:
            promise?.fail(TLSError(.closed, "write after the TLS session with \(peerName) ended"))
        case .active:
            guard let ssl else { return }
            var data = data
            while data.readableBytes > 0 {
                ERR_clear_error()
                let chunk = min(data.readableBytes, 1 << 20)
                let written = data.withUnsafeReadableBytes { SSL_write(ssl, $0.baseAddress, Int32(chunk)) }
                guard written > 0 else {
                    let error = classify(SSL_get_error(ssl, written), during: "write to \(peerName)")
                    promise?.fail(error)
                    fail(context: context, error)
                    return
                }
                data.moveReaderIndex(forwardBy: Int(written))
            }
            if !flushOutput(context: context, promise: promise, flush: false) {
                promise?.succeed(())
            }
        }
    }

    func flush(context: ChannelHandlerContext) {
        switch state {
        case .idle, .handshaking:
            flushPending = true
        default:
            context.flush()
        }
    }

    func close(context: ChannelHandlerContext, mode: CloseMode, promise: EventLoopPromise<Void>?) {
        guard mode == .all else {
            context.close(mode: mode, promise: promise)
            return
        }
        switch state {
        case .active:
            state = .closed
            if let ssl {
                ERR_clear_error()
                SSL_shutdown(ssl)  // queues close_notify; we do not wait for the peer's
                flushOutput(context: context)
            }
        case .idle, .handshaking:
            state = .closed
            let error = TLSError(.ioError, "connection to \(peerName) closed before the TLS handshake finished")
            handshakePromise?.fail(error)
            handshakePromise = nil
        case .closed, .failed:
            break
        }
        failPendingWrites(TLSError(.closed, "TLS session with \(peerName) closed"))
        context.close(mode: mode, promise: promise)
    }

    func channelInactive(context: ChannelHandlerContext) {
        if let promise = handshakePromise {
            handshakePromise = nil
            promise.fail(TLSError(.ioError, "connection to \(peerName) closed during the TLS handshake"))
        }
        failPendingWrites(TLSError(.ioError, "connection to \(peerName) closed"))
        if case .active = state { state = .closed }
        if case .handshaking = state { state = .closed }
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        if let promise = handshakePromise {
            handshakePromise = nil
            promise.fail(error as? TLSError ?? TLSError(.ioError, "connection to \(peerName) failed during the TLS handshake: \(error)", cause: error))
        }
        context.fireErrorCaught(error)
    }

    // MARK: helpers

    /// Moves what OpenSSL wrote into `wbio` to the channel. Returns whether anything was written.
    @discardableResult
    private func flushOutput(context: ChannelHandlerContext, promise: EventLoopPromise<Void>? = nil,
                             flush: Bool = true) -> Bool {
        guard let wbio else { return false }
        let pending = Int(copenssl_bio_pending(wbio))
        guard pending > 0 else { return false }
        var buffer = context.channel.allocator.buffer(capacity: pending)
        buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: pending) { space in
            Int(max(0, BIO_read(wbio, space.baseAddress, Int32(pending))))
        }
        if flush {
            context.writeAndFlush(NIOAny(buffer), promise: promise)
        } else {
            context.write(NIOAny(buffer), promise: promise)
        }
        return true
    }

    private func failPendingWrites(_ error: TLSError) {
        let writes = pendingWrites
        pendingWrites = []
        for (_, promise) in writes { promise?.fail(error) }
    }

    private func fail(context: ChannelHandlerContext, _ error: TLSError) {
        switch state {
        case .failed: return
        default: break
        }
        state = .failed
        handshakeTimer?.cancel()
        handshakeTimer = nil
        logger.debug("TLS failed", metadata: ["tls.peer": "\(peerName)", "error": "\(error)"])
        let promise = handshakePromise
        handshakePromise = nil
        promise?.fail(error)
        failPendingWrites(error)
        context.fireErrorCaught(error)
        context.close(promise: nil)
    }

    /// Turns a failed SSL call into a TLSError, reading the verify result and the error queue.
    private func classify(_ sslError: Int32, during what: String) -> TLSError {
        var codes: [UInt] = []
        while true {
            let code = ERR_get_error()
            if code == 0 { break }
            codes.append(code)
        }
        let lines = codes.map(errorString)
        if let ssl {
            let verify = SSL_get_verify_result(ssl)
            if verify != Int(X509_V_OK) {
                let reason = String(cString: X509_verify_cert_error_string(verify))
                return TLSError(verifyCode(verify), "certificate verify failed in \(what): \(reason)", openSSLErrors: lines)
            }
        }
        for code in codes where copenssl_err_get_lib(code) == copenssl_err_lib_ssl() {
            let reason = copenssl_err_get_reason(code)
            if reason >= copenssl_ad_reason_offset() {
                let alert = reason - copenssl_ad_reason_offset()
                let name = alertName(alert) ?? String(cString: SSL_alert_desc_string_long(alert))
                return TLSError(.alert, "\(what): the peer sent a fatal alert", alertDescription: name, openSSLErrors: lines)
            }
        }
        if sslError == SSL_ERROR_SYSCALL {
            return TLSError(.ioError, "\(what): I/O error", openSSLErrors: lines)
        }
        return TLSError(.handshakeFailure, "\(what) failed", openSSLErrors: lines)
    }

    private func verifyCode(_ verify: Int) -> TLSError.Code {
        switch Int32(truncatingIfNeeded: verify) {
        case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT, X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY,
             X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT, X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN,
             X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE, X509_V_ERR_CERT_UNTRUSTED:
            .unknownCA
        case X509_V_ERR_HOSTNAME_MISMATCH, X509_V_ERR_IP_ADDRESS_MISMATCH, X509_V_ERR_EMAIL_MISMATCH:
            .nameMismatch
        case X509_V_ERR_CERT_HAS_EXPIRED, X509_V_ERR_CERT_NOT_YET_VALID:
            .expired
        default:
            .certificateInvalid
        }
    }

    // MARK: session facts

    var negotiatedVersion: String? {
        guard let ssl, case .active = state else { return nil }
        return String(cString: SSL_get_version(ssl))
    }

    /// RFC 5929 `tls-server-end-point` channel-binding data: the peer certificate's hash.
    func peerCertificateEndPointHash() -> [UInt8]? {
        guard let ssl, let cert = copenssl_get_peer_certificate(ssl) else { return nil }
        defer { X509_free(cert) }
        var out = [UInt8](repeating: 0, count: Int(EVP_MAX_MD_SIZE))
        let capacity = UInt32(out.count)
        let length = out.withUnsafeMutableBufferPointer { copenssl_server_end_point_hash(cert, $0.baseAddress, capacity) }
        guard length > 0 else { return nil }
        return Array(out.prefix(Int(length)))
    }
}

/// TLS alert descriptions (RFC 8446 §6) in OpenSSL's wording; OpenSSL 3.0 calls the TLS 1.3
/// ones "unknown".
func alertName(_ alert: Int32) -> String? {
    switch alert {
    case 0: "close notify"
    case 10: "unexpected message"
    case 20: "bad record mac"
    case 22: "record overflow"
    case 40: "handshake failure"
    case 42: "bad certificate"
    case 43: "unsupported certificate"
    case 44: "certificate revoked"
    case 45: "certificate expired"
    case 46: "certificate unknown"
    case 47: "illegal parameter"
    case 48: "unknown CA"
    case 49: "access denied"
    case 50: "decode error"
    case 51: "decrypt error"
    case 70: "protocol version"
    case 71: "insufficient security"
    case 80: "internal error"
    case 86: "inappropriate fallback"
    case 90: "user canceled"
    case 109: "missing extension"
    case 110: "unsupported extension"
    case 112: "unrecognized name"
    case 113: "bad certificate status response"
    case 115: "unknown PSK identity"
    case 116: "certificate required"
    case 120: "no application protocol"
    default: nil
    }
}

/// The address when `name` is an IPv4 or IPv6 literal (brackets removed), else nil.
func ipLiteral(_ name: String) -> String? {
    var text = Substring(name)
    if text.hasPrefix("[") && text.hasSuffix("]") { text = text.dropFirst().dropLast() }
    if text.contains(":") {
        return text.allSatisfy { $0.isHexDigit || $0 == ":" || $0 == "." } ? String(text) : nil
    }
    let parts = text.split(separator: ".", omittingEmptySubsequences: false)
    guard parts.count == 4 else { return nil }
    for part in parts {
        guard !part.isEmpty, part.count <= 3, part.allSatisfy({ $0.isASCII && $0.isNumber }),
              let value = Int(part), value <= 255 else { return nil }
    }
    return String(text)
}

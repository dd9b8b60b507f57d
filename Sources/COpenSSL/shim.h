#ifndef KAFKA_PIPE_COPENSSL_H
#define KAFKA_PIPE_COPENSSL_H
#include <openssl/ssl.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <openssl/pem.h>
#include <openssl/bio.h>
#include <openssl/sha.h>
#include <openssl/md5.h>

// Function-like macros that Swift cannot import.
static inline long copenssl_set_tlsext_host_name(SSL *ssl, const char *name) {
    return SSL_set_tlsext_host_name(ssl, name);
}
static inline long copenssl_ctx_set_min_proto_version(SSL_CTX *ctx, int version) {
    return SSL_CTX_set_min_proto_version(ctx, version);
}
static inline long copenssl_ctx_set_max_proto_version(SSL_CTX *ctx, int version) {
    return SSL_CTX_set_max_proto_version(ctx, version);
}
static inline int copenssl_bio_pending(BIO *b) { return (int)BIO_ctrl_pending(b); }

// Error-code accessors (macros or inline functions depending on the OpenSSL version).
static inline int copenssl_err_get_lib(unsigned long e) { return ERR_GET_LIB(e); }
static inline int copenssl_err_get_reason(unsigned long e) { return ERR_GET_REASON(e); }
static inline int copenssl_err_lib_ssl(void) { return ERR_LIB_SSL; }
static inline int copenssl_ad_reason_offset(void) { return SSL_AD_REASON_OFFSET; }

// SSL_CTX/SSL option and mode setters are macros in some versions.
static inline long copenssl_ctx_set_mode(SSL_CTX *ctx, long mode) { return SSL_CTX_set_mode(ctx, mode); }
static inline uint64_t copenssl_ctx_set_options(SSL_CTX *ctx, uint64_t options) { return SSL_CTX_set_options(ctx, options); }
static inline uint64_t copenssl_op_no_compression(void) { return SSL_OP_NO_COMPRESSION; }
static inline uint64_t copenssl_op_no_renegotiation(void) { return SSL_OP_NO_RENEGOTIATION; }
static inline long copenssl_mode_release_buffers(void) { return SSL_MODE_RELEASE_BUFFERS; }

// The peer's leaf certificate with a new reference (SSL_get_peer_certificate is a macro in 3.x).
static inline X509 *copenssl_get_peer_certificate(const SSL *ssl) {
#if OPENSSL_VERSION_NUMBER >= 0x30000000L
    return SSL_get1_peer_certificate(ssl);
#else
    return SSL_get_peer_certificate(ssl);
#endif
}

// RFC 5929 tls-server-end-point: the certificate's hash with its signature's digest
// (SHA-256 when that digest is MD5 or SHA-1). Returns the length written, or 0.
static inline int copenssl_server_end_point_hash(X509 *cert, unsigned char *out, unsigned int capacity) {
    int md_nid = NID_undef;
    if (!X509_get_signature_info(cert, &md_nid, NULL, NULL, NULL)) return 0;
    const EVP_MD *md = NULL;
    if (md_nid == NID_md5 || md_nid == NID_sha1 || md_nid == NID_undef) md = EVP_sha256();
    else md = EVP_get_digestbynid(md_nid);
    if (md == NULL || (unsigned int)EVP_MD_get_size(md) > capacity) return 0;
    unsigned int len = 0;
    if (!X509_digest(cert, md, out, &len)) return 0;
    return (int)len;
}
#endif

internal import COpenSSL

// PipeAuth module: hashing, HMAC, PBKDF2, SCRAM, AWS SigV4.
public enum PipeAuthModule {
    public static let name = "PipeAuth"
    public static var openSSLVersion: String { String(cString: OpenSSL_version(0)) }
}

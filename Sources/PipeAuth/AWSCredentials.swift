/// AWS access keys. The description shows the access key id only.
public struct AWSCredentials: Sendable, Hashable, CustomStringConvertible, CustomReflectable {
    public var accessKeyID: String
    public var secretAccessKey: String
    /// The STS session token of temporary credentials.
    public var sessionToken: String?

    public init(accessKeyID: String, secretAccessKey: String, sessionToken: String? = nil) {
        self.accessKeyID = accessKeyID
        self.secretAccessKey = secretAccessKey
        self.sessionToken = sessionToken
    }

    /// From the standard variables `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY` and
    /// `AWS_SESSION_TOKEN` (or the older `AWS_SECURITY_TOKEN`); nil without both keys.
    public static func fromEnvironment(_ env: [String: String]) -> AWSCredentials? {
        guard let id = env["AWS_ACCESS_KEY_ID"], !id.isEmpty,
              let secret = env["AWS_SECRET_ACCESS_KEY"], !secret.isEmpty else { return nil }
        let token = [env["AWS_SESSION_TOKEN"], env["AWS_SECURITY_TOKEN"]].compactMap { $0 }.first { !$0.isEmpty }
        return AWSCredentials(accessKeyID: id, secretAccessKey: secret, sessionToken: token)
    }

    /// `AWS_REGION`, else `AWS_DEFAULT_REGION`.
    public static func regionFromEnvironment(_ env: [String: String]) -> String? {
        [env["AWS_REGION"], env["AWS_DEFAULT_REGION"]].compactMap { $0 }.first { !$0.isEmpty }
    }

    public var description: String {
        "AWSCredentials(accessKeyID: \(accessKeyID), secretAccessKey: ***\(sessionToken == nil ? "" : ", sessionToken: ***"))"
    }

    public var customMirror: Mirror {
        Mirror(self, children: ["accessKeyID": accessKeyID, "secretAccessKey": "***",
                                "sessionToken": sessionToken == nil ? "nil" : "***"])
    }
}

public import WireCore

/// The AWS_MSK_IAM SASL mechanism's single client message.
///
/// The client sends a JSON object holding the parameters of a presigned request
/// `GET /?Action=kafka-cluster%3AConnect` to the broker's host, signed with SigV4 for service
/// `kafka-cluster` (query signing, signed header `host`, empty payload, 900 s expiry, session
/// token signed), as aws-msk-iam-auth (payload version `2020_10_22`) does. The broker answers
/// with a JSON object (version, request-id) on success.
public enum MSKIAM {
    public static let mechanism = "AWS_MSK_IAM"
    public static let service = "kafka-cluster"
    public static let action = "kafka-cluster:Connect"
    public static let version = "2020_10_22"
    public static let expires = 900

    /// The signature computation behind the payload.
    public static func signature(host: String, credentials: AWSCredentials, region: String,
                                 date: UnixTime) -> SigV4Signer.Signature {
        let signer = SigV4Signer(credentials: credentials, region: region, service: service)
        return signer.presign(method: "GET", path: "/", query: [("Action", action)], headers: [("host", host)],
                              payloadHash: SigV4Signer.emptyPayloadHash, date: date, expires: expires)
    }

    /// - Parameter host: the broker's host name as the client connects to it, without the port.
    public static func authPayload(host: String, credentials: AWSCredentials, region: String, date: UnixTime,
                                   userAgent: String = "kafka-pipe") -> [UInt8] {
        let signed = signature(host: host, credentials: credentials, region: region, date: date)
        var items = Dictionary(signed.queryItems.map { ($0.name, $0.value) }, uniquingKeysWith: { a, _ in a })
        var fields: [(String, String)] = [
            ("version", version),
            ("host", host),
            ("user-agent", userAgent),
            ("action", action),
        ]
        for name in ["X-Amz-Algorithm", "X-Amz-Credential", "X-Amz-Date", "X-Amz-SignedHeaders",
                     "X-Amz-Expires", "X-Amz-Signature", "X-Amz-Security-Token"] {
            if let value = items.removeValue(forKey: name) { fields.append((name.lowercased(), value)) }
        }
        var json = "{"
        for (i, (key, value)) in fields.enumerated() {
            if i > 0 { json += "," }
            json += jsonString(key) + ":" + jsonString(value)
        }
        json += "}"
        return Array(json.utf8)
    }

    static func jsonString(_ s: String) -> String {
        var out = "\""
        for scalar in s.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if scalar.value < 0x20 {
                    let hex = String(scalar.value, radix: 16)
                    out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        return out + "\""
    }
}

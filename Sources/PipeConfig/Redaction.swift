// Printing a configuration value (`print`, string interpolation, `dump`) never shows a secret: the
// types that hold one reflect it as `***`.

private func redacted(_ s: String) -> String { s.isEmpty ? "" : "***" }

extension SASLSettings: CustomReflectable {
    public var customMirror: Mirror {
        Mirror(self, children: [
            "mechanism": mechanism, "user": user, "pass": redacted(pass), "zid": zid,
            "nonce": nonce as Any, "isToken": isToken, "token": redacted(token), "accessKey": accessKey,
            "secretKey": redacted(secretKey), "sessionToken": sessionToken.map(redacted) as Any,
            "userAgent": userAgent, "region": region,
        ], displayStyle: .struct)
    }
}

extension ClickHouseSettings: CustomReflectable {
    public var customMirror: Mirror {
        Mirror(self, children: [
            "addrs": addrs, "database": database, "user": user, "password": redacted(password),
            "tls": tls as Any, "compression": compression,
        ], displayStyle: .struct)
    }
}

extension S3Settings: CustomReflectable {
    public var customMirror: Mirror {
        Mirror(self, children: [
            "endpoint": endpoint, "bucket": bucket, "accessKeyID": accessKeyID,
            "secretAccessKey": redacted(secretAccessKey), "region": region,
        ], displayStyle: .struct)
    }
}

extension PostgresURL: CustomReflectable {
    public var customMirror: Mirror {
        Mirror(self, children: ["url": description], displayStyle: .struct)
    }
}

extension PipeConfiguration: CustomStringConvertible {
    /// The resolved YAML, secrets as `***`.
    public var description: String { resolvedYAML() }
}

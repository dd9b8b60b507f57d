/// A SCRAM exchange as the startup state machine sees it (PipeAuth's `SCRAMClient` in production,
/// a scripted one in tests).
public protocol SASLSession: Sendable {
    mutating func clientFirstMessage() throws -> [UInt8]
    mutating func receiveServerFirst(_ message: [UInt8]) throws -> [UInt8]
    mutating func receiveServerFinal(_ message: [UInt8]) throws
}

/// Builds SASL sessions and MD5 answers from the credentials; kept apart so the state machine
/// needs no hashing code and tests can script it.
public struct PasswordMechanisms: Sendable {
    public var makeSCRAMSHA256: @Sendable (_ user: String, _ password: String) throws -> any SASLSession
    /// "md5" + hex(md5(hex(md5(password + user)) + salt))
    public var md5Answer: @Sendable (_ user: String, _ password: String, _ salt: [UInt8]) -> String

    public init(makeSCRAMSHA256: @escaping @Sendable (String, String) throws -> any SASLSession,
                md5Answer: @escaping @Sendable (String, String, [UInt8]) -> String) {
        self.makeSCRAMSHA256 = makeSCRAMSHA256
        self.md5Answer = md5Answer
    }
}

/// Startup and authentication (PostgreSQL docs, "Start-up"), as a value: each event returns the
/// action the connection must run.
struct StartupStateMachine {
    enum Action: Equatable {
        case send([FrontendMessage])
        case wait
        /// ReadyForQuery arrived: the connection is usable.
        case ready
        case fail(PostgresError)

        static func == (a: Action, b: Action) -> Bool {
            switch (a, b) {
            case (.send(let x), .send(let y)): return x == y
            case (.wait, .wait), (.ready, .ready): return true
            case (.fail(let x), .fail(let y)): return x.code == y.code && x.serverFields == y.serverFields
            default: return false
            }
        }
    }

    private enum State {
        case initial
        case waitingForAuthentication
        case scram(any SASLSession, sentFinal: Bool)
        /// The server's SCRAM signature verified; AuthenticationOk must follow.
        case scramVerified
        case authenticated
        case ready
        case failed
    }

    private var state: State = .initial
    let user: String
    let password: String?
    let startupParameters: [(String, String)]
    let mechanisms: PasswordMechanisms?

    private(set) var parameters: [String: String] = [:]
    private(set) var processID: Int32 = 0
    private(set) var secretKey: [UInt8] = []
    private(set) var notices: [[UInt8: String]] = []

    init(user: String, password: String?, startupParameters: [(String, String)], mechanisms: PasswordMechanisms?) {
        self.user = user
        self.password = password
        self.startupParameters = startupParameters
        self.mechanisms = mechanisms
    }

    mutating func start() -> Action {
        guard case .initial = state else { return fail(.init(code: .protocolViolation, context: "startup sent twice")) }
        state = .waitingForAuthentication
        return .send([.startup(parameters: startupParameters)])
    }

    private mutating func fail(_ e: PostgresError) -> Action {
        state = .failed
        return .fail(e)
    }

    mutating func received(_ message: BackendMessage) -> Action {
        switch (state, message) {
        case (.failed, _):
            return .wait
        case (_, .error(let fields)):
            return fail(.server(fields, context: "during startup as user \"\(user)\""))
        case (_, .notice(let fields)):
            notices.append(fields)
            return .wait
        case (.waitingForAuthentication, .authentication(let auth)):
            return authenticationRequested(auth)
        case (.scram(var session, false), .authentication(.saslContinue(let data))):
            do {
                let final = try session.receiveServerFirst(data)
                state = .scram(session, sentFinal: true)
                return .send([.saslResponse(data: final)])
            } catch {
                return fail(.init(code: .authenticationUnsupported, context: "SCRAM server-first message rejected", cause: error))
            }
        case (.scram(var session, true), .authentication(.saslFinal(let data))):
            do {
                try session.receiveServerFinal(data)
                state = .scramVerified
                return .wait
            } catch {
                return fail(.init(code: .authenticationUnsupported, context: "SCRAM server signature did not verify", cause: error))
            }
        case (.scramVerified, .authentication(.ok)):
            state = .authenticated
            return .wait
        case (.authenticated, .parameterStatus(let name, let value)):
            parameters[name] = value
            return .wait
        case (.authenticated, .backendKeyData(let pid, let key)):
            processID = pid
            secretKey = key
            return .wait
        case (.authenticated, .negotiateProtocolVersion):
            return .wait
        case (.authenticated, .readyForQuery):
            state = .ready
            return .ready
        case (.waitingForAuthentication, .negotiateProtocolVersion):
            return .wait
        default:
            return fail(.unexpected("startup: unexpected \(Self.name(message))"))
        }
    }

    private mutating func authenticationRequested(_ auth: BackendMessage.Authentication) -> Action {
        switch auth {
        case .ok:
            state = .authenticated
            return .wait
        case .cleartextPassword:
            guard let password else { return fail(missingPassword("password")) }
            return .send([.password(password)])
        case .md5Password(let salt):
            guard let password else { return fail(missingPassword("md5")) }
            guard let mechanisms else { return fail(.init(code: .authenticationUnsupported, context: "MD5 is not available")) }
            return .send([.md5Password(hashed: mechanisms.md5Answer(user, password, salt))])
        case .sasl(let offered):
            guard offered.contains("SCRAM-SHA-256") else {
                return fail(.init(code: .authenticationUnsupported,
                                  context: "server offers SASL mechanisms \(offered); only SCRAM-SHA-256 is supported"))
            }
            guard let password else { return fail(missingPassword("SCRAM-SHA-256")) }
            guard let mechanisms else {
                return fail(.init(code: .authenticationUnsupported, context: "SCRAM-SHA-256 is not available"))
            }
            do {
                var session = try mechanisms.makeSCRAMSHA256(user, password)
                let first = try session.clientFirstMessage()
                state = .scram(session, sentFinal: false)
                return .send([.saslInitialResponse(mechanism: "SCRAM-SHA-256", data: first)])
            } catch {
                return fail(.init(code: .authenticationUnsupported, context: "SCRAM setup failed", cause: error))
            }
        case .unsupported(let code):
            return fail(.init(code: .authenticationUnsupported, context: "authentication method \(code) is not supported"))
        case .saslContinue, .saslFinal:
            return fail(.unexpected("SASL message outside a SASL exchange"))
        }
    }

    private func missingPassword(_ method: String) -> PostgresError {
        .init(code: .invalidConfiguration, context: "server asks for \(method) authentication for user \"\(user)\" but no password is configured")
    }

    static func name(_ m: BackendMessage) -> String {
        switch m {
        case .authentication: "Authentication"
        case .backendKeyData: "BackendKeyData"
        case .parameterStatus: "ParameterStatus"
        case .readyForQuery: "ReadyForQuery"
        case .rowDescription: "RowDescription"
        case .dataRow: "DataRow"
        case .commandComplete: "CommandComplete"
        case .emptyQueryResponse: "EmptyQueryResponse"
        case .error: "ErrorResponse"
        case .notice: "NoticeResponse"
        case .parseComplete: "ParseComplete"
        case .bindComplete: "BindComplete"
        case .closeComplete: "CloseComplete"
        case .noData: "NoData"
        case .portalSuspended: "PortalSuspended"
        case .parameterDescription: "ParameterDescription"
        case .copyInResponse: "CopyInResponse"
        case .copyOutResponse: "CopyOutResponse"
        case .copyBothResponse: "CopyBothResponse"
        case .copyData: "CopyData"
        case .copyDone: "CopyDone"
        case .notification: "NotificationResponse"
        case .negotiateProtocolVersion: "NegotiateProtocolVersion"
        case .other(let t, _): "message type \(t)"
        }
    }
}

import SIPCore
import ScriptEngine
import Synchronization

/// Kamailio's auth result codes (`auth_check` and friends return them to the script).
public enum AuthResult: Int32, Sendable {
    /// Credentials valid.
    case ok = 1
    /// Internal error, or a nonce this server did not make.
    case error = -1
    /// Wrong password (response mismatch).
    case invalidPassword = -2
    /// No such subscriber.
    case userUnknown = -3
    /// The nonce has expired: challenge again with `stale=true`.
    case staleNonce = -4
    /// No credentials for the realm.
    case noCredentials = -5
    /// The nonce (or its nonce-count) was used before.
    case nonceReused = -6
    /// The authentication user is not the To/From user (`auth_check` flag 1).
    case userMismatch = -8
}

/// Per-message auth state: the credentials that authorised the request (for
/// `consume_credentials`, `$au`...) and whether the nonce was stale.
public final class AuthMessageState {
    /// The header that carried the accepted credentials.
    var usedHeader: SIPHeaderField?
    /// The credentials last checked (so the user check does not parse them again).
    var checked: AuthCredentials?
    /// True when the last check found an expired nonce of ours.
    var stale = false

    init() {}
}

extension ScriptContext {
    /// The auth per-message state, created on first use.
    public var authState: AuthMessageState {
        let key = ObjectIdentifier(AuthMessageState.self)
        if let s = userData[key] as? AuthMessageState { return s }
        let s = AuthMessageState()
        userData[key] = s
        return s
    }
}

/// Digest authentication (Kamailio's `auth`): challenges, nonces, credential checks
/// against an HA1 that a backend (auth_db) provides.
public final class AuthModule: ScriptModule {
    public let name = "auth"
    let runtime: CoreRuntime
    let sl: SLModule

    struct Settings {
        var secret = ""
        var nonceExpire = 300
        var nonceCount = false
        var oneTimeNonce = false
        var algorithm = AuthAlgorithm.md5
        var passwordAVP = "password"
        var pvCalculateHA1 = false
    }

    let settings = Mutex(Settings())
    /// cfg `auth.nonce_expire` (kamailiod's group; a modparam only in Kamailio).
    let nonceExpire: CfgIntKey
    let noncesBox = Mutex<AuthNonces?>(nil)

    /// Creates the module.
    public init(runtime: CoreRuntime, sl: SLModule) {
        self.runtime = runtime
        self.sl = sl
        nonceExpire = runtime.cfg.declareInt("auth", "nonce_expire", 300, check: { v in
            v.intValue > 0 ? nil : "auth.nonce_expire must be positive"
        }, "Lifetime of a nonce in seconds")
        let c = runtime.cfg
        _ = c.declareInt("auth", "nonce_count", 0, min: 0, max: 1, applies: .restart, "1: check the nc value of nonces")
        _ = c.declareInt("auth", "one_time_nonce", 0, min: 0, max: 1, applies: .restart, "1: a nonce is valid once")
        _ = c.declareString("auth", "algorithm", "MD5", applies: .restart, "Digest algorithm of challenges (MD5, SHA-256)")
    }

    /// The nonce factory (made at `initialize`, or on first use in tests).
    var nonces: AuthNonces {
        noncesBox.withLock { box in
            if let n = box { return n }
            let n = AuthNonces(secret: settings.withLock { $0.secret })
            box = n
            return n
        }
    }

    public var parameters: [ScriptModuleParameter] {
        [
            ScriptModuleParameter("secret", .string) { [self] v in settings.withLock { $0.secret = v.stringValue } },
            ScriptModuleParameter("nonce_expire", .int) { [self] v throws(ScriptFixupError) in
                guard v.intValue > 0 else { throw ScriptFixupError("nonce_expire must be positive") }
                runtime.cfg.setInitial(nonceExpire, Int(v.intValue))
            },
            ScriptModuleParameter("nonce_count", .int) { [self] v in
                settings.withLock { $0.nonceCount = v.intValue != 0 }
                runtime.cfg.setInitial("auth", "nonce_count", .int(Int(v.intValue)))
            },
            ScriptModuleParameter("one_time_nonce", .int) { [self] v in
                settings.withLock { $0.oneTimeNonce = v.intValue != 0 }
                runtime.cfg.setInitial("auth", "one_time_nonce", .int(Int(v.intValue)))
            },
            ScriptModuleParameter("algorithm", .string) { [self] v throws(ScriptFixupError) in
                guard let (a, sess) = AuthAlgorithm.parse(v.stringValue.isEmpty ? nil : v.stringValue), !sess else {
                    throw ScriptFixupError("algorithm must be MD5 or SHA-256, found '\(v.stringValue)'")
                }
                settings.withLock { $0.algorithm = a }
                runtime.cfg.setInitial("auth", "algorithm", .string(v.stringValue))
            },
            // pv_www_authorize/pv_proxy_authorize read the password from this AVP.
            ScriptModuleParameter("password_spec", .string) { [self] v throws(ScriptFixupError) in
                let t = v.stringValue
                guard t.hasPrefix("$avp("), t.hasSuffix(")"), t.count > 6 else {
                    throw ScriptFixupError("password_spec must be an AVP ($avp(name)), found '\(t)'")
                }
                var name = String(t.dropFirst(5).dropLast())
                if name.hasPrefix("s:") { name = String(name.dropFirst(2)) }
                settings.withLock { $0.passwordAVP = name }
            },
            // 1: the password_spec AVP holds the plaintext password; 0: its HA1.
            ScriptModuleParameter("calculate_ha1", .int) { [self] v in settings.withLock { $0.pvCalculateHA1 = v.intValue != 0 } },
            ScriptModuleParameter("username_spec", .string) { _ in },
            // Accepted for compatibility; their features are not implemented.
            ScriptModuleParameter("qop", .string) { _ in },
            ScriptModuleParameter("nid_pool_no", .int) { _ in },
            ScriptModuleParameter("nc_array_size", .int) { _ in },
            ScriptModuleParameter("otn_in_flight_no", .int) { _ in },
        ]
    }

    public func initialize(_ context: ScriptModuleInitContext) throws(ScriptError) {
        _ = nonces
    }

    public var functions: [ScriptFunction] {
        [
            ScriptFunction("www_challenge", arity: 1...2, routes: [.request]) { [self] ctx, args in
                challenge(ctx, realm: ctx.string(args[0]), flags: Int(ctx.int(args[1])), proxy: false)
            },
            ScriptFunction("proxy_challenge", arity: 1...2, routes: [.request]) { [self] ctx, args in
                challenge(ctx, realm: ctx.string(args[0]), flags: Int(ctx.int(args[1])), proxy: true)
            },
            ScriptFunction("auth_challenge", arity: 1...2, routes: [.request]) { [self] ctx, args in
                challenge(ctx, realm: ctx.string(args[0]), flags: Int(ctx.int(args[1])),
                          proxy: ctx.message.method != .register)
            },
            ScriptFunction("consume_credentials", arity: 0...0, routes: [.request]) { ctx, _ in
                guard let h = ctx.authState.usedHeader else { return -1 }
                ctx.message.removeHeader(h)
                ctx.authState.usedHeader = nil
                return 1
            },
            ScriptFunction("pv_www_authorize", arity: 1...1, routes: [.request]) { [self] ctx, args in
                pvAuthorize(ctx, realm: ctx.string(args[0]), password: nil, flags: -1, checks: 0, proxy: false)
            },
            ScriptFunction("pv_proxy_authorize", arity: 1...1, routes: [.request]) { [self] ctx, args in
                pvAuthorize(ctx, realm: ctx.string(args[0]), password: nil, flags: -1, checks: 0, proxy: true)
            },
            // pv_auth_check(realm, passwd, flags, checks): flags 0 plaintext, 1 HA1;
            // checks 1: the user must be the To (REGISTER) / From user.
            ScriptFunction("pv_auth_check", arity: 4...4, routes: [.request]) { [self] ctx, args in
                pvAuthorize(ctx, realm: ctx.string(args[0]), password: ctx.string(args[1]), flags: Int(ctx.int(args[2])),
                            checks: Int(ctx.int(args[3])), proxy: ctx.message.method != .register)
            },
            ScriptFunction("has_credentials", arity: 1...1, routes: .any) { ctx, args in
                let realm = ctx.string(args[0])
                for kind in [SIPHeaderKind.authorization, .proxyAuthorization] {
                    for h in ctx.message.headers(kind) {
                        if let c = try? AuthCredentials.parse(ctx.message.bytes[h.value]), c.realm == realm { return 1 }
                    }
                }
                return -1
            },
        ]
    }

    public var pseudoVariables: [ScriptPVDefinition] {
        func pv(_ name: String, _ read: @escaping @Sendable (AuthCredentials) -> String) -> ScriptPVDefinition {
            ScriptPVDefinition(name) { _, _ in
                ScriptPVAccessor(get: { ctx in
                    guard let c = AuthModule.requestCredentials(ctx.message) else { return .null }
                    return .string(read(c))
                })
            }
        }
        return [pv("au") { $0.user }, pv("ar") { $0.realm }, pv("ad") { $0.domain }, pv("aU") { $0.username },
                pv("an") { $0.nonce }]
    }

    /// The credentials `$au` and friends read: Proxy-Authorization first, then
    /// Authorization (a REGISTER carries the latter, a proxied request the former).
    static func requestCredentials(_ msg: SIPMessage) -> AuthCredentials? {
        for kind in [SIPHeaderKind.proxyAuthorization, .authorization] {
            for h in msg.headers(kind) {
                if let c = try? AuthCredentials.parse(msg.bytes[h.value]) { return c }
            }
        }
        return nil
    }

    /// The realm to use: the argument, or the host of To (REGISTER) / From (RFC 3261 §22.1).
    static func realm(_ given: String, _ msg: SIPMessage) -> String {
        if !given.isEmpty { return given }
        let na = msg.method == .register ? (try? msg.to()) : (try? msg.from())
        return na?.uri.hostString ?? ""
    }

    /// Sends 401 with WWW-Authenticate (or 407 with Proxy-Authenticate): RFC 3261 §22.1,
    /// §22.3. `flags` 1 asks for qop=auth, 2 for qop=auth-int. The reply ends the script's
    /// handling of the request but the function returns 1, as Kamailio's does.
    func challenge(_ ctx: ScriptContext, realm given: String, flags: Int, proxy: Bool) -> Int32 {
        let realm = Self.realm(given, ctx.message)
        let s = settings.withLock { $0 }
        let nonce = nonces.make(now: UsrlocModule.now(), lifetime: nonceExpire(ctx))
        var line = proxy ? "Proxy-Authenticate: " : "WWW-Authenticate: "
        line += "Digest realm=\"\(realm)\", nonce=\"\(nonce)\""
        if ctx.authState.stale { line += ", stale=true" }
        if s.algorithm != .md5 { line += ", algorithm=\(s.algorithm.token)" }
        if flags & 1 != 0 && flags & 2 != 0 {
            line += ", qop=\"auth,auth-int\""
        } else if flags & 1 != 0 {
            line += ", qop=\"auth\""
        } else if flags & 2 != 0 {
            line += ", qop=\"auth-int\""
        }
        let state = ctx.core
        let saved = state.replyHeaders
        state.replyHeaders.append(Array(line.utf8))
        defer { state.replyHeaders = saved }
        let code = proxy ? 407 : 401
        return sl.reply(ctx, code: code, reason: proxy ? "Proxy Authentication Required" : "Unauthorized") > 0 ? 1 : -1
    }

    /// Verifies the credentials for `realm` in `msg` against the HA1 that `ha1` returns
    /// for (username, realm, algorithm): RFC 2617 §3.2.2.1, RFC 7616 §3.4.1.
    func verify(_ ctx: ScriptContext, realm given: String, proxy: Bool,
                ha1 lookup: (AuthCredentials, AuthAlgorithm) -> AuthHA1Lookup) -> AuthResult {
        let msg = ctx.message
        let realm = Self.realm(given, msg)
        ctx.authState.stale = false
        // Find the credentials for our realm (§22.4: a request may carry several).
        var found: (AuthCredentials, SIPHeaderField)?
        for h in msg.headers(proxy ? .proxyAuthorization : .authorization) {
            do {
                if let c = try AuthCredentials.parse(msg.bytes[h.value]), c.realm == realm {
                    found = (c, h)
                    break
                }
            } catch {
                // Kamailio 5.6 answers nothing here: auth_check fails and the script
                // (typically) challenges again, which is what a confused client needs.
                log(ctx, "malformed credentials (\(error.message))")
                return .error
            }
        }
        guard let (cred, header) = found else { return .noCredentials }
        guard let (algorithm, sess) = AuthAlgorithm.parse(cred.algorithm) else {
            log(ctx, "unsupported algorithm '\(cred.algorithm ?? "")' for \(cred.username)")
            return .error
        }
        let s = settings.withLock { $0 }
        let now = UsrlocModule.now()
        let nonceState = nonces.check(cred.nonce, now: now)
        if nonceState == .invalid {
            log(ctx, "nonce not ours for \(cred.username)")
            return .error
        }
        let storedHA1: String
        switch lookup(cred, algorithm) {
        case .unknownUser:
            log(ctx, "unknown user \(cred.username)@\(realm)")
            return .userUnknown
        case .failure:
            return .error
        case .ha1(let h):
            storedHA1 = h.lowercased()
        }
        var ha1 = storedHA1
        if sess { ha1 = algorithm.hex("\(ha1):\(cred.nonce):\(cred.cnonce ?? "")") }
        let method = SIPBytes.string(msg.methodBytes)
        let ha2: String
        if cred.qop?.lowercased() == "auth-int" {
            ha2 = algorithm.hex("\(method):\(cred.uri):\(AuthHex.encode(algorithm.hash(Array(msg.body))))")
        } else {
            ha2 = algorithm.hex("\(method):\(cred.uri)")
        }
        let expected: String
        if let qop = cred.qop {
            expected = algorithm.hex("\(ha1):\(cred.nonce):\(cred.nc ?? ""):\(cred.cnonce ?? ""):\(qop):\(ha2)")
        } else {
            expected = algorithm.hex("\(ha1):\(cred.nonce):\(ha2)")
        }
        guard expected == cred.response.lowercased() else {
            log(ctx, "wrong password for \(cred.username)@\(realm)")
            return .invalidPassword
        }
        switch nonceState {
        case .stale:
            ctx.authState.stale = true
            return .staleNonce
        case .valid(let id, let exp):
            if s.nonceCount || s.oneTimeNonce {
                let nc = cred.nc.flatMap { UInt32($0, radix: 16) } ?? 0
                if !nonces.accept(id: id, expires: exp, nc: nc, oneTime: s.oneTimeNonce, now: now) {
                    log(ctx, "replayed nonce for \(cred.username)")
                    return .nonceReused
                }
            }
        case .invalid:
            return .error
        }
        ctx.authState.usedHeader = header
        ctx.authState.checked = cred
        return .ok
    }

    /// The pv_* checks: the password (or HA1) comes from the script instead of a table.
    /// `password` nil reads the `password_spec` AVP; `flags` -1 then follows the
    /// module's `calculate_ha1`.
    func pvAuthorize(_ ctx: ScriptContext, realm: String, password: String?, flags: Int, checks: Int,
                     proxy: Bool) -> Int32 {
        let s = settings.withLock { $0 }
        let secret = password ?? ctx.avps[s.passwordAVP]?.first.map { $0.stringValue }
        let isHA1 = flags == -1 ? !s.pvCalculateHA1 : flags & 1 != 0
        let result = verify(ctx, realm: realm, proxy: proxy) { cred, algorithm in
            guard let secret else { return .unknownUser }
            return .ha1(isHA1 ? secret : algorithm.hex("\(cred.username):\(cred.realm):\(secret)"))
        }
        if result == .ok, checks & 1 != 0, !credentialsMatchUser(ctx) {
            ctx.authState.usedHeader = nil
            return AuthResult.userMismatch.rawValue
        }
        return result.rawValue
    }

    /// True when the checked credentials' user is the To user (REGISTER) or From user.
    func credentialsMatchUser(_ ctx: ScriptContext) -> Bool {
        let msg = ctx.message
        let na = msg.method == .register ? (try? msg.to()) : (try? msg.from())
        let user = na?.uri.user.map(SIPBytes.string) ?? ""
        return ctx.authState.checked?.user == user
    }

    private func log(_ ctx: ScriptContext, _ text: String) {
        runtime.log(.notice, "auth", "\(text) from \(ctx.receive.source.ipString):\(ctx.receive.source.port)")
    }
}

/// What a credentials backend found for a user.
public enum AuthHA1Lookup: Sendable {
    /// The HA1 to check the response with (hex).
    case ha1(String)
    /// No such user.
    case unknownUser
    /// The backend failed (database error).
    case failure
}

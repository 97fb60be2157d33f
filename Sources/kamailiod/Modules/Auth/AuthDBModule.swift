import SIPCore
import ScriptEngine
import Storage
import Synchronization

/// Credentials from the `subscriber` table (Kamailio's `auth_db`): `auth_check`,
/// `www_authorize`, `proxy_authorize`, `is_subscriber`.
public final class AuthDBModule: ScriptModule {
    public let name = "auth_db"
    let runtime: CoreRuntime
    let auth: AuthModule

    struct Settings {
        var dbURL = ""
        var calculateHA1 = false
        var passwordColumn = "ha1"
        var passwordColumn2 = "ha1b"
        var userColumn = "username"
        var domainColumn = "domain"
        var useDomain = false
    }

    let settings = Mutex(Settings())
    let database = Mutex<SQLiteDatabase?>(nil)

    /// Creates the module on top of `auth` (nonces, challenges, digest checking).
    public init(runtime: CoreRuntime, auth: AuthModule) {
        self.runtime = runtime
        self.auth = auth
    }

    public var parameters: [ScriptModuleParameter] {
        func column(_ name: String, _ set: @escaping @Sendable (inout Settings, String) -> Void) -> ScriptModuleParameter {
            ScriptModuleParameter(name, .string) { [self] v throws(ScriptFixupError) in
                let s = v.stringValue
                // Column names go into SQL text: identifiers only.
                guard AuthDBModule.isIdentifier(s) else {
                    throw ScriptFixupError("\(name) must be a column name, found '\(s)'")
                }
                settings.withLock { set(&$0, s) }
            }
        }
        return [
            ScriptModuleParameter("db_url", .string) { [self] v in settings.withLock { $0.dbURL = v.stringValue } },
            ScriptModuleParameter("calculate_ha1", .int) { [self] v in settings.withLock { $0.calculateHA1 = v.intValue != 0 } },
            ScriptModuleParameter("use_domain", .int) { [self] v in settings.withLock { $0.useDomain = v.intValue != 0 } },
            column("password_column") { $0.passwordColumn = $1 },
            column("password_column_2") { $0.passwordColumn2 = $1 },
            column("user_column") { $0.userColumn = $1 },
            column("domain_column") { $0.domainColumn = $1 },
            // Loading extra columns into AVPs is not implemented; "" (none) is accepted.
            ScriptModuleParameter("load_credentials", .string) { v throws(ScriptFixupError) in
                guard v.stringValue.isEmpty else { throw ScriptFixupError("load_credentials is not supported yet") }
            },
            ScriptModuleParameter("version_table", .int) { _ in },
        ]
    }

    public func initialize(_ context: ScriptModuleInitContext) throws(ScriptError) {
        let url = settings.withLock { $0.dbURL }
        guard !url.isEmpty else { throw ScriptError("auth_db: db_url is required", at: nil) }
        do {
            let db = try SQLiteDatabase.shared(url: url)
            try KamailioSchema.createMissing(in: db)
            database.withLock { $0 = db }
        } catch {
            throw ScriptError("auth_db: \(error)", at: nil)
        }
    }

    /// True for a plain SQL identifier (letters, digits, `_`): table and column names
    /// are written into statement text, so nothing else may pass.
    static func isIdentifier(_ s: String) -> Bool {
        !s.isEmpty && s.utf8.allSatisfy { ($0 >= 48 && $0 <= 57) || ($0 | 0x20 >= 97 && $0 | 0x20 <= 122) || $0 == 95 }
    }

    /// Fix-up: realm as a format, table name checked as an identifier.
    private static let fixup: @Sendable (ScriptFixupContext) throws(ScriptError) -> ScriptFixedArgs = { f throws(ScriptError) in
        var args = try f.defaultArgs()
        if f.arguments.count > 1 {
            let table = try f.fixupString(1)
            guard isIdentifier(table) else {
                throw f.error("table must be a table name, found '\(table)'", argument: 1)
            }
            args.values[1] = .string(Array(table.utf8))
        }
        return args
    }

    public var functions: [ScriptFunction] {
        [
            ScriptFunction("www_authorize", arity: 2...2, routes: [.request], fixup: Self.fixup) { [self] ctx, args in
                check(ctx, realm: ctx.string(args[0]), table: ctx.string(args[1]), flags: 0, proxy: false)
            },
            ScriptFunction("proxy_authorize", arity: 2...2, routes: [.request], fixup: Self.fixup) { [self] ctx, args in
                check(ctx, realm: ctx.string(args[0]), table: ctx.string(args[1]), flags: 0, proxy: true)
            },
            ScriptFunction("auth_check", arity: 3...3, routes: [.request], fixup: Self.fixup) { [self] ctx, args in
                check(ctx, realm: ctx.string(args[0]), table: ctx.string(args[1]), flags: Int(ctx.int(args[2])),
                      proxy: ctx.message.method != .register)
            },
            ScriptFunction("is_subscriber", arity: 3...3, routes: .any, fixup: Self.fixup) { [self] ctx, args in
                guard let uri = try? SIPURI(bytes: ctx.bytes(args[0])[...]), let user = uri.user else { return -1 }
                let domain = Int(ctx.int(args[2])) & 1 != 0 ? uri.hostString : nil
                return exists(table: ctx.string(args[1]), user: SIPBytes.string(user), domain: domain) ? 1 : -1
            },
        ]
    }

    /// `auth_check` / `www_authorize` / `proxy_authorize`. Flag 1 also requires the
    /// authentication user to be the To user (REGISTER) or From user (others), so one
    /// subscriber cannot register or call as another.
    func check(_ ctx: ScriptContext, realm: String, table: String, flags: Int, proxy: Bool) -> Int32 {
        let result = auth.verify(ctx, realm: realm, proxy: proxy) { cred, algorithm in
            ha1(table: table, cred: cred, algorithm: algorithm)
        }
        if result == .ok, flags & 1 != 0, !auth.credentialsMatchUser(ctx) {
            ctx.authState.usedHeader = nil
            return AuthResult.userMismatch.rawValue
        }
        return result.rawValue
    }

    /// The HA1 for credentials, computed from the plaintext password (calculate_ha1) or
    /// read from the HA1 column (`ha1b` when the username carries a domain).
    func ha1(table: String, cred: AuthCredentials, algorithm: AuthAlgorithm) -> AuthHA1Lookup {
        let s = settings.withLock { $0 }
        guard let db = database.withLock({ $0 }) else { return .failure }
        let column = s.calculateHA1 ? s.passwordColumn : (cred.username.contains("@") ? s.passwordColumn2 : s.passwordColumn)
        var sql = "SELECT \(column) FROM \(table) WHERE \(s.userColumn)=?"
        var params: [SQLiteValue] = [.text(cred.user)]
        if s.useDomain {
            sql += " AND \(s.domainColumn)=?"
            params.append(.text(cred.domain))
        }
        let rows: [[SQLiteValue]]
        do {
            rows = try db.query(sql, params)
        } catch {
            runtime.log(.error, "auth_db", "subscriber lookup failed: \(error)")
            return .failure
        }
        guard let value = rows.first?.first?.string else { return .unknownUser }
        if s.calculateHA1 {
            return .ha1(algorithm.hex("\(cred.username):\(cred.realm):\(value)"))
        }
        // A stored HA1 is for one hash; another algorithm can never match it.
        return value.utf8.count == algorithm.hexLength ? .ha1(value) : .ha1("")
    }

    /// True when `table` has a row for `user` (and `domain`, when given).
    func exists(table: String, user: String, domain: String?) -> Bool {
        let s = settings.withLock { $0 }
        guard let db = database.withLock({ $0 }) else { return false }
        var sql = "SELECT 1 FROM \(table) WHERE \(s.userColumn)=?"
        var params: [SQLiteValue] = [.text(user)]
        if let domain {
            sql += " AND \(s.domainColumn)=?"
            params.append(.text(domain))
        }
        return ((try? db.query(sql + " LIMIT 1", params)) ?? []).isEmpty == false
    }
}

import Foundation
import Testing
import SIPCore
import ScriptEngine
import Storage
@testable import BuiltinModules

@Suite("digest credentials and nonces")
struct AuthDigestTests {
    @Test("RFC 2617 §3.5 example response (MD5, qop=auth)")
    func rfc2617() {
        let md5 = AuthAlgorithm.md5
        let ha1 = md5.hex("Mufasa:testrealm@host.com:Circle Of Life")
        let ha2 = md5.hex("GET:/dir/index.html")
        let r = md5.hex("\(ha1):dcd98b7102dd2f0e8b11d0f600bfb0c093:00000001:0a4f113b:auth:\(ha2)")
        #expect(r == "6629fae49393a05397450978507c4ef1")
    }

    @Test("RFC 7616 §3.9.1 example response (SHA-256, qop=auth)")
    func rfc7616() {
        let sha = AuthAlgorithm.sha256
        let ha1 = sha.hex("Mufasa:http-auth@example.org:Circle of Life")
        let ha2 = sha.hex("GET:/dir/index.html")
        let nonce = "7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v"
        let cnonce = "f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ"
        let r = sha.hex("\(ha1):\(nonce):00000001:\(cnonce):auth:\(ha2)")
        #expect(r == "753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1")
    }

    @Test("credentials parse with quoted and token values; other schemes are not ours")
    func parse() throws {
        let c = try #require(try AuthCredentials.parse(Array(
            #"Digest username="bob@sip.test", realm="sip.test", nonce="n\"1", uri="sip:sip.test", response="abc", qop=auth, nc=00000001, cnonce="x", algorithm=SHA-256"#.utf8)))
        #expect(c.username == "bob@sip.test" && c.user == "bob" && c.domain == "sip.test")
        #expect(c.nonce == "n\"1" && c.qop == "auth" && c.nc == "00000001" && c.algorithm == "SHA-256")
        #expect(try AuthCredentials.parse(Array("Basic Ym9iOnB3".utf8)) == nil)
    }

    @Test("malformed digest credentials are errors", arguments: [
        #"Digest username="alice, realm="sip.test""#,
        #"Digest username="a", username="a", realm="r", nonce="n", uri="u", response="r""#,
        #"Digest username="a", realm="r", nonce="n", uri="u""#,
        #"Digest username, realm="r""#,
        #"Digest username="a" realm="r""#,
        #"Digest username="a", realm="r", nonce="n", uri="u", response="r", qop=auth"#,
        "Digest username=\"\(String(repeating: "a", count: 5000))\", realm=\"r\", nonce=\"n\", uri=\"u\", response=\"r\"",
    ])
    func malformed(_ text: String) {
        #expect(throws: AuthParseError.self) { try AuthCredentials.parse(Array(text.utf8)) }
    }

    @Test("a nonce is valid until it expires, and a changed byte makes it invalid")
    func nonces() {
        let n = AuthNonces(secret: "")
        let nonce = n.make(now: 1000, lifetime: 30)
        guard case .valid = n.check(nonce, now: 1010) else { Issue.record("expected valid"); return }
        #expect(n.check(nonce, now: 1031) == .stale)
        var forged = Array(nonce.utf8)
        forged[3] = forged[3] == UInt8(ascii: "0") ? UInt8(ascii: "1") : UInt8(ascii: "0")
        #expect(n.check(String(decoding: forged, as: UTF8.self), now: 1010) == .invalid)
        #expect(AuthNonces(secret: "").check(nonce, now: 1010) == .invalid)
        #expect(n.check("short", now: 1010) == .invalid)
    }

    @Test("nonce-counts must grow; a one-time nonce works once")
    func nonceCounts() {
        let n = AuthNonces(secret: "s")
        #expect(n.accept(id: 1, expires: 100, nc: 1, oneTime: false, now: 0))
        #expect(!n.accept(id: 1, expires: 100, nc: 1, oneTime: false, now: 0))
        #expect(n.accept(id: 1, expires: 100, nc: 2, oneTime: false, now: 0))
        #expect(n.accept(id: 2, expires: 100, nc: 1, oneTime: true, now: 0))
        #expect(!n.accept(id: 2, expires: 100, nc: 2, oneTime: true, now: 0))
    }
}

/// A database with alice/alicepw in `sip.test`, as kamctl would add her.
func subscriberDatabase() throws -> String {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("auth-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    let path = dir.appendingPathComponent("k.db").path
    let db = try SQLiteDatabase(path: path)
    try KamailioSchema.createMissing(in: db)
    try db.query("INSERT INTO subscriber (username, domain, password, ha1, ha1b) VALUES (?, ?, ?, ?, ?)",
                 [.text("alice"), .text("sip.test"), .text("alicepw"),
                  .text(AuthAlgorithm.md5.hex("alice:sip.test:alicepw")),
                  .text(AuthAlgorithm.md5.hex("alice@sip.test:sip.test:alicepw"))])
    return path
}

@Suite("auth_check against the subscriber table")
struct AuthCheckTests {
    func harness(_ path: String, _ params: String = "") throws -> ModuleHarness {
        try ModuleHarness("""
        loadmodule "db_sqlite.so"
        loadmodule "auth.so"
        loadmodule "auth_db.so"
        modparam("auth_db", "db_url", "sqlite://\(path)")
        modparam("auth_db", "calculate_ha1", yes)
        modparam("auth_db", "password_column", "password")
        modparam("auth_db", "use_domain", 1)
        \(params)
        request_route {
            auth_check("$fd", "subscriber", "1");
            $avp(rc) = $rc;
            $avp(au) = $au;
            if ($avp(rc) == 1) { consume_credentials(); }
        }
        """)
    }

    /// A REGISTER from `user` with credentials for `password`.
    func authorized(_ h: ModuleHarness, user: String = "alice", password: String = "alicepw", nonce: String? = nil,
                    nc: String = "00000001", algorithm: AuthAlgorithm = .md5, now: Int = UsrlocModule.now()) throws -> String {
        let auth = try #require(h.modules.all.compactMap { $0 as? AuthModule }.first)
        let n = nonce ?? auth.nonces.make(now: now, lifetime: 300)
        let ha1 = algorithm.hex("\(user):sip.test:\(password)")
        let ha2 = algorithm.hex("REGISTER:sip:sip.test")
        let response = algorithm.hex("\(ha1):\(n):\(nc):c0:auth:\(ha2)")
        let alg = algorithm == .md5 ? "" : ", algorithm=SHA-256"
        return register(user, extra: [#"Authorization: Digest username="\#(user)", realm="sip.test", nonce="\#(n)", uri="sip:sip.test", response="\#(response)", qop=auth, nc=\#(nc), cnonce="c0"\#(alg)"#])
    }

    @Test("right password: 1, $au set, and consume_credentials removes the header")
    func ok() throws {
        let h = try harness(try subscriberDatabase())
        let ctx = try h.run(try authorized(h))
        #expect(ctx.avps["rc"] == [.int(1)])
        #expect(ctx.avps["au"] == [.string("alice")])
        #expect(!wire(ctx).contains("Authorization:"))
    }

    @Test("SHA-256 credentials check against the plaintext password")
    func sha256() throws {
        let h = try harness(try subscriberDatabase())
        #expect(try h.run(try authorized(h, algorithm: .sha256)).avps["rc"] == [.int(1)])
    }

    @Test("wrong password -2, unknown user -3, no credentials -5, stale nonce -4")
    func failures() throws {
        let h = try harness(try subscriberDatabase())
        #expect(try h.run(try authorized(h, password: "nope")).avps["rc"] == [.int(-2)])
        #expect(try h.run(try authorized(h, user: "mallory")).avps["rc"] == [.int(-3)])
        #expect(try h.run(register()).avps["rc"] == [.int(-5)])
        let stale = try h.run(try authorized(h, now: UsrlocModule.now() - 400))
        #expect(stale.avps["rc"] == [.int(-4)])
        #expect(stale.authState.stale)
    }

    @Test("a forged nonce or malformed credentials fail with -1")
    func forged() throws {
        let h = try harness(try subscriberDatabase())
        #expect(try h.run(try authorized(h, nonce: String(repeating: "0", count: 48))).avps["rc"] == [.int(-1)])
        let bad = register(extra: [#"Authorization: Digest username="alice, realm="sip.test""#])
        #expect(try h.run(bad).avps["rc"] == [.int(-1)])
    }

    @Test("with nonce_count, a replayed nonce-count is refused (-6)")
    func replay() throws {
        let h = try harness(try subscriberDatabase(), #"modparam("auth", "nonce_count", 1)"#)
        let auth = try #require(h.modules.all.compactMap { $0 as? AuthModule }.first)
        let nonce = auth.nonces.make(now: UsrlocModule.now(), lifetime: 300)
        #expect(try h.run(try authorized(h, nonce: nonce)).avps["rc"] == [.int(1)])
        #expect(try h.run(try authorized(h, nonce: nonce)).avps["rc"] == [.int(-6)])
        #expect(try h.run(try authorized(h, nonce: nonce, nc: "00000002")).avps["rc"] == [.int(1)])
    }

    @Test("flag 1: authenticating as alice for bob's To is a mismatch (-8)")
    func userMismatch() throws {
        let h = try harness(try subscriberDatabase())
        let text = try authorized(h).replacingOccurrences(of: "To: <sip:alice@sip.test>", with: "To: <sip:bob@sip.test>")
        #expect(try h.run(text).avps["rc"] == [.int(-8)])
    }

    @Test("stored HA1 (calculate_ha1 0) is used as is; ha1b for user@domain names")
    func storedHA1() throws {
        let path = try subscriberDatabase()
        let h = try ModuleHarness("""
        loadmodule "auth.so"
        loadmodule "auth_db.so"
        modparam("auth_db", "db_url", "sqlite://\(path)")
        modparam("auth_db", "calculate_ha1", 0)
        modparam("auth_db", "password_column", "ha1")
        request_route { auth_check("$fd", "subscriber", "0"); $avp(rc) = $rc; }
        """)
        #expect(try h.run(try authorized(h)).avps["rc"] == [.int(1)])
    }

    @Test("is_subscriber finds users by URI (with domain under flag 1)")
    func isSubscriber() throws {
        let path = try subscriberDatabase()
        let h = try ModuleHarness("""
        loadmodule "auth.so"
        loadmodule "auth_db.so"
        modparam("auth_db", "db_url", "sqlite://\(path)")
        request_route {
            if (is_subscriber("sip:alice@sip.test", "subscriber", "1")) { $avp(a) = 1; }
            if (is_subscriber("sip:alice@other.test", "subscriber", "1")) { $avp(b) = 1; }
            if (is_subscriber("sip:carol@sip.test", "subscriber", "0")) { $avp(c) = 1; }
        }
        """)
        let ctx = try h.run(request())
        #expect(ctx.avps["a"] == [.int(1)] && ctx.avps["b"] == nil && ctx.avps["c"] == nil)
    }

    @Test("pv_auth_check and pv_www_authorize take the password from the script")
    func pvAuth() throws {
        let h = try ModuleHarness("""
        loadmodule "auth.so"
        modparam("auth", "calculate_ha1", 1)
        request_route {
            pv_auth_check("sip.test", "alicepw", "0", "1");
            $avp(a) = $rc;
            pv_auth_check("sip.test", "nope", "0", "1");
            $avp(b) = $rc;
            $avp(password) = "alicepw";
            pv_www_authorize("sip.test");
            $avp(c) = $rc;
        }
        """)
        let ctx = try h.run(try authorized(h))
        #expect(ctx.avps["a"] == [.int(1)] && ctx.avps["b"] == [.int(-2)] && ctx.avps["c"] == [.int(1)])
    }

    @Test("a column name that is not an identifier is refused at load")
    func badColumn() {
        #expect(throws: (any Error).self) {
            try ModuleHarness("""
            loadmodule "auth_db.so"
            modparam("auth_db", "password_column", "password; DROP TABLE subscriber")
            request_route { }
            """)
        }
    }
}

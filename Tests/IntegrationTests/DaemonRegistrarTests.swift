import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// A REGISTER for `user@sip.test` from `peer`, CRLF line ends.
func registerRequest(_ user: String, peer: UDPPeer, cseq: Int, callID: String = "reg-\(UUID().uuidString.prefix(8))",
                     contacts: [String]? = nil, extra: [String] = []) -> String {
    var lines = ["REGISTER sip:sip.test SIP/2.0",
                 "Via: SIP/2.0/UDP 127.0.0.1:\(peer.port);rport;branch=z9hG4bK\(UUID().uuidString.prefix(12))",
                 "From: <sip:\(user)@sip.test>;tag=\(UUID().uuidString.prefix(8))",
                 "To: <sip:\(user)@sip.test>",
                 "Call-ID: \(callID)",
                 "CSeq: \(cseq) REGISTER",
                 "Max-Forwards: 70"]
    lines += (contacts ?? ["<sip:\(user)@127.0.0.1:\(peer.port)>"]).map { "Contact: \($0)" }
    lines += extra
    lines.append("Content-Length: 0")
    return lines.joined(separator: "\r\n") + "\r\n\r\n"
}

/// The digest `Authorization` header answering `challenge` (a 401's WWW-Authenticate),
/// computed by Python's hashlib so the test does not share code with the server.
func digestAuthorization(challenge: String, user: String, password: String, method: String = "REGISTER",
                         uri: String = "sip:sip.test", nc: String = "00000001") throws -> String {
    let nonce = challenge.components(separatedBy: "nonce=\"").dropFirst().first?.components(separatedBy: "\"").first ?? ""
    let script = """
    import hashlib, sys
    u, p, m, uri, n, nc = sys.argv[1:7]
    h = lambda s: hashlib.md5(s.encode()).hexdigest()
    print(h(h(u + ":sip.test:" + p) + ":" + n + ":" + nc + ":c0ffee:auth:" + h(m + ":" + uri)), end="")
    """
    let r = try run(which("python3") ?? "/usr/bin/python3", ["-c", script, user, password, method, uri, nonce, nc])
    return "Authorization: Digest username=\"\(user)\", realm=\"sip.test\", nonce=\"\(nonce)\", uri=\"\(uri)\", "
        + "response=\"\(r.output)\", qop=auth, nc=\(nc), cnonce=\"c0ffee\""
}

/// The registrar configurations the tests start: REGISTER -> (auth) -> save, other requests
/// -> lookup and a stateless forward to the contact, or 404.
enum RegistrarConfig {
    static func text(dbURL: String? = nil, dbMode: Int = 0, auth: Bool = false, relay: Bool = false,
                     extra: String = "") -> String {
        var modules = """
        loadmodule "sl.so"
        loadmodule "textops.so"
        loadmodule "siputils.so"
        loadmodule "usrloc.so"
        loadmodule "registrar.so"

        """
        var params = """
        modparam("usrloc", "db_mode", \(dbMode))
        modparam("usrloc", "timer_interval", 1)
        modparam("registrar", "min_expires", 60)
        modparam("registrar", "min_expires_mode", 1)
        modparam("registrar", "max_expires", 7200)
        modparam("registrar", "max_contacts", 4)

        """
        if relay { modules += "loadmodule \"tm.so\"\n" }
        if let dbURL {
            modules += "loadmodule \"db_sqlite.so\"\n"
            params += "modparam(\"usrloc\", \"db_url\", \"\(dbURL)\")\n"
        }
        var authBlock = ""
        if auth, let dbURL {
            modules += "loadmodule \"auth.so\"\nloadmodule \"auth_db.so\"\n"
            params += """
            modparam("auth_db", "db_url", "\(dbURL)")
            modparam("auth_db", "calculate_ha1", yes)
            modparam("auth_db", "password_column", "password")
            modparam("auth_db", "use_domain", 1)
            modparam("auth", "nonce_count", 1)

            """
            authBlock = """
                auth_check("$fd", "subscriber", "1");
                switch ($rc) {
                    case 1:
                        consume_credentials();
                        break;
                    case -2:
                        sl_send_reply("403", "Wrong Password");
                        exit;
                    case -3:
                        sl_send_reply("403", "Unknown User");
                        exit;
                    default:
                        auth_challenge("$fd", "1");
                        exit;
                }
            """
        }
        return """
        #!KAMAILIO
        debug=2
        children=2
        listen=udp:127.0.0.1:{PORT}
        alias=sip.test
        auto_aliases=no
        \(modules)
        \(params)
        \(extra)
        request_route {
            if (is_method("OPTIONS") && $rU == $null) { sl_send_reply("200", "OK"); exit; }
            if (is_method("REGISTER")) {
        \(authBlock)
                save("location");
                exit;
            }
            if (!lookup("location")) {
                sl_send_reply("404", "Not Found");
                exit;
            }
            \(relay ? "t_relay();" : "forward();")
        }
        """
    }
}

/// A fresh database file made by `kamailiod --init-db`.
func initDatabase(_ dir: URL) throws -> (path: String, url: String) {
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    let path = dir.appendingPathComponent("kamailio.db").path
    let r = try run(TestPaths.daemon.path, ["--init-db", "sqlite://\(path)"])
    #expect(r.status == 0, "\(r.output)")
    return (path, "sqlite://\(path)")
}

func temporaryDirectory() -> URL {
    URL(fileURLWithPath: NSTemporaryDirectory()).appendingPathComponent("kamailiod-reg-\(UUID().uuidString.prefix(8))")
}

@Suite("Registrar daemon", .serialized, .enabled(if: inIsolatedNetwork(), "needs an isolated network namespace"))
struct DaemonRegistrarTests {
    @Test("register, re-register, fetch, 423, Contact * with Expires 0")
    func registerCycle() throws {
        let d = try DaemonProcess(config: RegistrarConfig.text())
        defer { d.stop() }
        let ua = try UDPPeer()
        let callID = "cyc-1"
        ua.send(registerRequest("alice", peer: ua, cseq: 1, callID: callID, extra: ["Expires: 600"]), to: "127.0.0.1", port: d.port)
        let ok = ua.receive()
        #expect(statusCode(ok) == 200, "\(ok ?? "no reply")\n\(d.log)")
        #expect(headerValue(ok, "Contact") == "<sip:alice@127.0.0.1:\(ua.port)>;expires=600")

        ua.send(registerRequest("alice", peer: ua, cseq: 2, callID: callID,
                                contacts: ["<sip:alice@127.0.0.1:\(ua.port)>;expires=1200", "<sip:alice@192.0.2.9>;q=0.5"]),
                to: "127.0.0.1", port: d.port)
        let again = ua.receive()
        #expect(statusCode(again) == 200)
        #expect(headerValue(again, "Contact")
                == "<sip:alice@192.0.2.9>;q=0.5;expires=3600, <sip:alice@127.0.0.1:\(ua.port)>;expires=1200"
                || headerValue(again, "Contact")
                == "<sip:alice@127.0.0.1:\(ua.port)>;expires=1200, <sip:alice@192.0.2.9>;q=0.5;expires=3600")

        ua.send(registerRequest("alice", peer: ua, cseq: 3, callID: callID, contacts: []), to: "127.0.0.1", port: d.port)
        let fetch = ua.receive()
        #expect(statusCode(fetch) == 200)
        #expect(headerValue(fetch, "Contact")?.components(separatedBy: ", ").count == 2)

        ua.send(registerRequest("alice", peer: ua, cseq: 4, callID: callID, extra: ["Expires: 20"]), to: "127.0.0.1", port: d.port)
        let brief = ua.receive()
        #expect(statusCode(brief) == 423)
        #expect(headerValue(brief, "Min-Expires") == "60")

        ua.send(registerRequest("alice", peer: ua, cseq: 5, callID: callID, contacts: ["*"], extra: ["Expires: 0"]),
                to: "127.0.0.1", port: d.port)
        let cleared = ua.receive()
        #expect(statusCode(cleared) == 200)
        #expect(headerValue(cleared, "Contact") == nil)
        let invite = sipRequest("INVITE", uri: "sip:alice@sip.test", via: "UDP 127.0.0.1:\(ua.port)")
        ua.send(invite, to: "127.0.0.1", port: d.port)
        #expect(statusCode(ua.receive()) == 404)
    }

    @Test("an INVITE to a registered user is forwarded to the highest-q contact")
    func lookupForwards() throws {
        let d = try DaemonProcess(config: RegistrarConfig.text())
        defer { d.stop() }
        let (phone, desk) = try inviteBobAtTwoContacts(d)
        let got = phone.receive()
        #expect(got?.hasPrefix("INVITE sip:bob@127.0.0.1:\(phone.port) SIP/2.0\r\n") == true, "\(got ?? "nothing")\n\(d.log)")
        #expect(desk.receive(timeout: 0.3) == nil)
    }

    @Test("through tm, an INVITE to a user with two contacts forks to both")
    func forks() throws {
        let d = try DaemonProcess(config: RegistrarConfig.text(relay: true))
        defer { d.stop() }
        let (phone, desk) = try inviteBobAtTwoContacts(d)
        let a = phone.receive()
        let b = desk.receive()
        #expect(a?.hasPrefix("INVITE sip:bob@127.0.0.1:\(phone.port) SIP/2.0\r\n") == true, "\(a ?? "nothing")\n\(d.log)")
        #expect(b?.hasPrefix("INVITE sip:bob@127.0.0.1:\(desk.port) SIP/2.0\r\n") == true, "\(b ?? "nothing")")
    }

    @Test("db_mode 1: 10,000 registrations by sipp survive a SIGKILL", .enabled(if: which("sipp") != nil))
    func tenThousandRestart() throws {
        let dir = temporaryDirectory()
        let db = try initDatabase(dir)
        let csv = dir.appendingPathComponent("users.csv")
        try ("SEQUENTIAL\n" + (0..<10_000).map { "user\($0)\n" }.joined()).write(to: csv, atomically: true, encoding: .utf8)
        let scenario = TestPaths.shared.appendingPathComponent("bench/scenarios/reg.xml").path
        let config = RegistrarConfig.text(dbURL: db.url, dbMode: 1)
        let first = try DaemonProcess(config: config)
        let sipp = try run(which("sipp") ?? "sipp", [
            "127.0.0.1:\(first.port)", "-sf", scenario, "-inf", csv.path, "-i", "127.0.0.1", "-p", "\(freePort())",
            "-r", "2000", "-m", "10000", "-l", "4000", "-nostdin", "-timeout", "60s", "-timeout_error"], timeout: 120)
        #expect(sipp.status == 0, "sipp: \(sipp.output.suffix(1500))")
        kill(first.pid, SIGKILL)
        first.stop()
        let second = try DaemonProcess(config: config, port: first.port)
        defer { second.stop() }
        #expect(second.log.contains("loaded 10000 contact(s)"), "\(second.log.suffix(2000))")
    }

    @Test("digest: 401 challenge, 200 with the right password, 403 with a wrong one, 401 for a replayed nc",
          .enabled(if: which("python3") != nil))
    func digestRoundTrip() throws {
        let db = try initDatabase(temporaryDirectory())
        let r = try run(which("sqlite3") ?? "/usr/bin/sqlite3", [db.path,
            "INSERT INTO subscriber (username, domain, password) VALUES ('carol', 'sip.test', 'carolpw')"])
        #expect(r.status == 0, "\(r.output)")
        let d = try DaemonProcess(config: RegistrarConfig.text(dbURL: db.url, dbMode: 1, auth: true))
        defer { d.stop() }
        let ua = try UDPPeer()
        ua.send(registerRequest("carol", peer: ua, cseq: 1, callID: "dig"), to: "127.0.0.1", port: d.port)
        let challenge = ua.receive()
        #expect(statusCode(challenge) == 401, "\(challenge ?? "none")\n\(d.log)")
        let www = headerValue(challenge, "WWW-Authenticate") ?? ""
        #expect(www.hasPrefix("Digest realm=\"sip.test\", nonce=\"") && www.hasSuffix(", qop=\"auth\""))

        let auth = try digestAuthorization(challenge: www, user: "carol", password: "carolpw")
        ua.send(registerRequest("carol", peer: ua, cseq: 2, callID: "dig", extra: [auth]), to: "127.0.0.1", port: d.port)
        #expect(statusCode(ua.receive()) == 200, "\(d.log)")
        // the same nonce-count again is a replay: challenged anew
        ua.send(registerRequest("carol", peer: ua, cseq: 3, callID: "dig", extra: [auth]), to: "127.0.0.1", port: d.port)
        #expect(statusCode(ua.receive()) == 401)

        let wrong = try digestAuthorization(challenge: www, user: "carol", password: "guess", nc: "00000005")
        ua.send(registerRequest("carol", peer: ua, cseq: 4, callID: "dig", extra: [wrong]), to: "127.0.0.1", port: d.port)
        #expect(statusCode(ua.receive()) == 403)
        let rows = try run(which("sqlite3") ?? "/usr/bin/sqlite3", [db.path, "SELECT username, contact FROM location"])
        #expect(rows.output.trimmingCharacters(in: .whitespacesAndNewlines) == "carol|sip:carol@127.0.0.1:\(ua.port)")
    }

    @Test("an expired nonce is challenged again with stale=true", .enabled(if: which("python3") != nil))
    func staleNonce() throws {
        let db = try initDatabase(temporaryDirectory())
        _ = try run(which("sqlite3") ?? "/usr/bin/sqlite3", [db.path,
            "INSERT INTO subscriber (username, domain, password) VALUES ('erin', 'sip.test', 'erinpw')"])
        let d = try DaemonProcess(config: RegistrarConfig.text(dbURL: db.url, dbMode: 1, auth: true,
                                                               extra: #"modparam("auth", "nonce_expire", 1)"#))
        defer { d.stop() }
        let ua = try UDPPeer()
        ua.send(registerRequest("erin", peer: ua, cseq: 1, callID: "stale"), to: "127.0.0.1", port: d.port)
        let www = headerValue(ua.receive(), "WWW-Authenticate") ?? ""
        #expect(!www.contains("stale"))
        usleep(2_100_000)
        let auth = try digestAuthorization(challenge: www, user: "erin", password: "erinpw")
        ua.send(registerRequest("erin", peer: ua, cseq: 2, callID: "stale", extra: [auth]), to: "127.0.0.1", port: d.port)
        let again = ua.receive()
        #expect(statusCode(again) == 401)
        #expect(headerValue(again, "WWW-Authenticate")?.contains(", stale=true") == true, "\(again ?? "none")")
    }

    @Test("a subscriber added with the real kamctl (DBENGINE=SQLITE) authenticates, through sipp",
          .enabled(if: which("kamctl") != nil && which("sipp") != nil))
    func kamctlSubscriber() throws {
        let db = try initDatabase(temporaryDirectory())
        let add = try run("/usr/bin/env", ["DBENGINE=SQLITE", "DB_PATH=\(db.path)", which("kamctl") ?? "kamctl",
                                           "add", "dave@sip.test", "davepw"])
        #expect(add.status == 0, "\(add.output)")
        let d = try DaemonProcess(config: RegistrarConfig.text(dbURL: db.url, dbMode: 1, auth: true))
        defer { d.stop() }
        let scenario = TestPaths.shared.appendingPathComponent("harness/scenarios/register.xml").path
        let sipp = try run(which("sipp") ?? "sipp", [
            "127.0.0.1:\(d.port)", "-sf", scenario, "-i", "127.0.0.1", "-p", "\(freePort())", "-m", "1",
            "-timeout", "20s", "-timeout_error", "-nostdin", "-key", "domain", "sip.test", "-key", "user", "dave",
            "-au", "dave", "-ap", "davepw", "-auth_uri", "sip.test"], timeout: 60)
        #expect(sipp.status == 0, "sipp: \(sipp.output.suffix(1500))\nlog: \(d.log.suffix(1500))")
    }

    @Test("db_mode 1: a daemon killed with SIGKILL comes back with every binding")
    func restartWriteThrough() throws {
        let db = try initDatabase(temporaryDirectory())
        let config = RegistrarConfig.text(dbURL: db.url, dbMode: 1)
        let ua = try UDPPeer()
        let first = try DaemonProcess(config: config)
        registerUsers("u", count: 20, from: ua, at: first)
        kill(first.pid, SIGKILL)
        first.stop()
        let second = try DaemonProcess(config: config, port: first.port)
        defer { second.stop() }
        #expect(second.log.contains("loaded 20 contact(s)"), "\(second.log)")
        ua.send(registerRequest("u7", peer: ua, cseq: 2, contacts: []), to: "127.0.0.1", port: second.port)
        let fetch = ua.receive()
        #expect(headerValue(fetch, "Contact")?.hasPrefix("<sip:u7@127.0.0.1:\(ua.port)>;expires=") == true)
    }

    @Test("db_mode 2: what the timer flushed survives a SIGKILL")
    func restartWriteBack() throws {
        let db = try initDatabase(temporaryDirectory())
        let config = RegistrarConfig.text(dbURL: db.url, dbMode: 2)
        let ua = try UDPPeer()
        let first = try DaemonProcess(config: config)
        registerUsers("w", count: 10, from: ua, at: first)
        // timer_interval 1: the next flush writes them; the timer thread may be late under load
        func rows() throws -> String {
            try run(which("sqlite3") ?? "/usr/bin/sqlite3", [db.path, "SELECT count(*) FROM location"])
                .output.trimmingCharacters(in: .whitespacesAndNewlines)
        }
        let flushed = try pollText(rows, until: { $0 == "10" }, seconds: 20)
        #expect(flushed == "10", "\(first.log.suffix(1500))")
        kill(first.pid, SIGKILL)
        first.stop()
        #expect(try rows() == "10")
        let second = try DaemonProcess(config: config, port: first.port)
        defer { second.stop() }
        #expect(second.log.contains("loaded 10 contact(s)"), "\(second.log)")
    }

    @Test("--init-db creates Kamailio's tables and leaves an existing database alone")
    func initDB() throws {
        let db = try initDatabase(temporaryDirectory())
        let tables = try run(which("sqlite3") ?? "/usr/bin/sqlite3", [db.path, "SELECT table_name, table_version FROM version ORDER BY id"])
        #expect(tables.output == "version|1\nlocation|9\nlocation_attrs|1\nsubscriber|7\ndialog|7\ndialog_vars|1\n")
        let again = try run(TestPaths.daemon.path, ["--init-db", db.url])
        #expect(again.status == 0 && again.output.contains("already exist"))
        let bad = try run(TestPaths.daemon.path, ["--init-db", "mysql://x"])
        #expect(bad.status != 0)
    }
}

/// bob registers two contacts with `d`, `phone` (q=0.9) and `desk` (q=0.1); then a caller
/// sends an INVITE to sip:bob@sip.test. Returns the two contacts' peers, to see where it went.
private func inviteBobAtTwoContacts(_ d: DaemonProcess,
                                    sourceLocation: SourceLocation = #_sourceLocation) throws -> (phone: UDPPeer, desk: UDPPeer) {
    let phone = try UDPPeer()
    let desk = try UDPPeer()
    let caller = try UDPPeer()
    phone.send(registerRequest("bob", peer: phone, cseq: 1,
                               contacts: ["<sip:bob@127.0.0.1:\(phone.port)>;q=0.9",
                                          "<sip:bob@127.0.0.1:\(desk.port)>;q=0.1"]),
               to: "127.0.0.1", port: d.port)
    #expect(statusCode(phone.receive()) == 200, sourceLocation: sourceLocation)
    caller.send(sipRequest("INVITE", uri: "sip:bob@sip.test", via: "UDP 127.0.0.1:\(caller.port)"),
                to: "127.0.0.1", port: d.port)
    return (phone, desk)
}

/// Registers `PREFIX0` ... `PREFIX<count-1>` from `ua` at `d`, one REGISTER each, and expects
/// each to be answered 200.
private func registerUsers(_ prefix: String, count: Int, from ua: UDPPeer, at d: DaemonProcess,
                           sourceLocation: SourceLocation = #_sourceLocation) {
    for i in 0..<count {
        ua.send(registerRequest("\(prefix)\(i)", peer: ua, cseq: 1), to: "127.0.0.1", port: d.port)
        #expect(statusCode(ua.receive()) == 200, sourceLocation: sourceLocation)
    }
}

import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// Runtime parameters and script reload taking effect on live traffic, driven through
/// kamcmd over the ctl socket.
@Suite("daemon cfg changes and script reload on live traffic", .serialized)
struct DaemonCfgLiveTests {
    /// The script; `{REASON}` is the reason of the OPTIONS reply and `{FAILURE}` the reason
    /// failure_route answers with, so a reload shows on the wire.
    static func config(reason: String = "first", failure: String = "Old Script", extra: String = "") -> String {
        controlConfig(loading: ["ctl", "cfg_rpc", "sl", "tm", "xlog", "textops", "dialog", "usrloc", "registrar"], """
        modparam("tm", "fr_timer", 3000)
        modparam("tm", "fr_inv_timer", 30000)
        \(extra)
        request_route {
            xlog("L_DBG", "debug-line $ci\\n");
            if (is_method("OPTIONS")) {
                sl_send_reply("200", "\(reason)");
                exit;
            }
            if (is_method("REGISTER")) {
                save("location");
                exit;
            }
            if (is_method("INVITE")) {
                dlg_manage();
            }
            t_on_failure("F");
            t_relay();
        }
        failure_route[F] {
            t_reply("480", "\(failure)");
        }
        event_route[dialog:start] {
            xlog("L_NOTICE", "dialog-start \(reason)\n");
        }
        """)
    }

    /// A daemon on `config()` with a UAC and a silent UAS peer.
    final class Rig {
        let daemon: DaemonProcess
        let uac: UDPPeer
        let uas: UDPPeer

        init() throws {
            daemon = try DaemonProcess(config: DaemonCfgLiveTests.config())
            uac = try UDPPeer()
            uas = try UDPPeer()
        }

        func kamcmd(_ args: String...) throws -> String {
            try run(which("kamcmd") ?? "kamcmd", ["-s", "unix:" + daemon.dir.path + "/kamailio_ctl"] + args, timeout: 20)
                .output.trimmingCharacters(in: .whitespacesAndNewlines)
        }

        /// Rewrites the script file the daemon was started with.
        func rewrite(_ text: String) throws {
            try text.replacingOccurrences(of: "{PORT}", with: String(daemon.port))
                .write(to: daemon.dir.appendingPathComponent("test.cfg"), atomically: true, encoding: .utf8)
        }

        /// The OPTIONS reply's first line.
        func options() -> String? {
            uac.send(sipRequest("OPTIONS", uri: "sip:127.0.0.1:\(daemon.port)", via: "UDP 127.0.0.1:\(uac.port)"),
                     to: "127.0.0.1", port: daemon.port)
            return firstLine(expect(uac, "SIP/2.0", timeout: 10))
        }

        func invite(_ callID: String) -> String {
            sipRequest("INVITE", uri: "sip:bob@127.0.0.1:\(uas.port)", via: "UDP 127.0.0.1:\(uac.port)",
                       extra: ["Contact: <sip:alice@127.0.0.1:\(uac.port)>"], callID: callID)
        }
    }

    @Test("registrar.max_expires caps the Expires of the next REGISTER's reply",
          .enabled(if: which("kamcmd") != nil))
    func maxExpires() throws {
        try #require(inIsolatedNetwork(), "needs an isolated network namespace")
        let rig = try Rig()
        defer { rig.daemon.stop() }
        func register() -> String? {
            rig.uac.send(registerRequest(peer: rig.uac, expires: 3600), to: "127.0.0.1", port: rig.daemon.port)
            return expect(rig.uac, "SIP/2.0 200", timeout: 10)
        }
        #expect(headerValue(register(), "Contact")?.contains("expires=3600") == true)
        #expect(try rig.kamcmd("cfg.seti", "registrar", "max_expires", "120") == "")
        #expect(headerValue(register(), "Contact")?.contains("expires=120") == true)
        // out of range and wrong type: Kamailio's fault, the reason in the log
        #expect(try rig.kamcmd("cfg.seti", "registrar", "default_q", "5000") == "error: 400 - Failed to set the variable")
        #expect(try rig.kamcmd("cfg.sets", "registrar", "max_expires", "many") == "error: 400 - Failed to set the variable")
        #expect(rig.daemon.log.contains("registrar.default_q: 5000 is out of range -1..1000"))
        #expect(rig.daemon.log.contains("registrar.max_expires expects an integer"))
    }

    @Test("tm.fr_inv_timer set at run time decides when an answered-but-silent INVITE gets its 408",
          .enabled(if: which("kamcmd") != nil))
    func frInvTimer() throws {
        try #require(inIsolatedNetwork(), "needs an isolated network namespace")
        let rig = try Rig()
        defer { rig.daemon.stop() }
        // The UAS rings, then stays silent; the failure route turns the timeout into 480.
        func ringThenWait() throws -> Double {
            let id = UUID().uuidString
            rig.uac.send(rig.invite(id), to: "127.0.0.1", port: rig.daemon.port)
            let inv = try #require(expect(rig.uas, "INVITE", timeout: 10, callID: id))
            rig.uas.send(ringing(inv), to: "127.0.0.1", port: rig.daemon.port)
            _ = try #require(expect(rig.uac, "SIP/2.0 180", timeout: 10, callID: id))
            let start = Date()
            _ = try #require(expect(rig.uac, "SIP/2.0 480", timeout: 25, callID: id))
            return Date().timeIntervalSince(start)
        }
        #expect(try rig.kamcmd("cfg.seti", "tm", "fr_inv_timer", "1500") == "")
        let short = try ringThenWait()
        #expect(short < 12, "30 s from the modparam would still apply: \(short)")
        #expect(try rig.kamcmd("cfg.seti", "tm", "fr_inv_timer", "4000") == "")
        let longer = try ringThenWait()
        #expect(longer >= 3.5, "took \(longer)")
        #expect(try rig.kamcmd("cfg.get", "tm", "fr_inv_timer") == "error: 400 - Variable exists, but it is not readable via RPC interface")
    }

    @Test("core.debug raised at run time makes L_DBG lines appear from the next message on",
          .enabled(if: which("kamcmd") != nil))
    func debugLevel() throws {
        try #require(inIsolatedNetwork(), "needs an isolated network namespace")
        let rig = try Rig()
        defer { rig.daemon.stop() }
        #expect(rig.options() == "SIP/2.0 200 first")
        #expect(!rig.daemon.log.contains("debug-line"))
        #expect(try rig.kamcmd("cfg.seti", "core", "debug", "3") == "")
        #expect(rig.options() == "SIP/2.0 200 first")
        #expect(poll(5) { rig.daemon.log.contains("debug-line") })
    }

    @Test("cfg.reload_script: a new reply on live traffic, a broken script refused at file:line:col, modparam changes refused",
          .enabled(if: which("kamcmd") != nil))
    func reload() throws {
        try #require(inIsolatedNetwork(), "needs an isolated network namespace")
        let rig = try Rig()
        defer { rig.daemon.stop() }
        #expect(rig.options() == "SIP/2.0 200 first")
        try rig.rewrite(Self.config(reason: "second"))
        let ok = try rig.kamcmd("cfg.reload_script")
        #expect(ok.contains("generation: 1"), "\(ok)")
        #expect(rig.options() == "SIP/2.0 200 second")
        #expect(rig.daemon.log.contains("routing script reloaded from"))

        // line 18 of the file: `sl_send_reply(` without its closing parenthesis
        try rig.rewrite(Self.config(reason: "third").replacingOccurrences(of: "\"third\");", with: "\"third\";"))
        let broken = try rig.kamcmd("cfg.reload_script")
        let file = rig.daemon.dir.appendingPathComponent("test.cfg").path
        #expect(broken.hasPrefix("error: 500 - \(file):18:37: expected ')'"), "\(broken)")
        #expect(rig.options() == "SIP/2.0 200 second")
        #expect(rig.daemon.log.contains("routing script reload refused"))

        try rig.rewrite(Self.config(reason: "third", extra: "modparam(\"tm\", \"wt_timer\", 2000)"))
        let modparam = try rig.kamcmd("cfg.reload_script")
        #expect(modparam.contains("modparam(\"tm\", \"wt_timer\") added: this needs a restart"), "\(modparam)")
        #expect(rig.options() == "SIP/2.0 200 second")

        // a fixed script (and an explicit path) goes in
        try rig.rewrite(Self.config(reason: "fourth"))
        #expect(try rig.kamcmd("cfg.reload_script", file).contains("generation: 2"))
        #expect(rig.options() == "SIP/2.0 200 fourth")
    }

    @Test("a transaction started before a reload runs the failure_route of the script it started with",
          .enabled(if: which("kamcmd") != nil))
    func reloadKeepsRunningTransactions() throws {
        try #require(inIsolatedNetwork(), "needs an isolated network namespace")
        let rig = try Rig()
        defer { rig.daemon.stop() }
        rig.uac.send(rig.invite("before-reload"), to: "127.0.0.1", port: rig.daemon.port)
        _ = try #require(expect(rig.uas, "INVITE", timeout: 10))
        // fr_timer is 3 s: reload while the first INVITE waits
        try rig.rewrite(Self.config(failure: "New Script"))
        #expect(try rig.kamcmd("cfg.reload_script").contains("generation: 1"))
        let first = try #require(expect(rig.uac, "SIP/2.0 480", timeout: 15, callID: "before-reload"))
        #expect(firstLine(first) == "SIP/2.0 480 Old Script")
        rig.uac.send(rig.invite("after-reload"), to: "127.0.0.1", port: rig.daemon.port)
        let second = try #require(expect(rig.uac, "SIP/2.0 480", timeout: 15, callID: "after-reload"))
        #expect(firstLine(second) == "SIP/2.0 480 New Script")
    }

    @Test("after a reload, dialog event routes run the new script",
          .enabled(if: which("kamcmd") != nil))
    func reloadReachesDialogEvents() throws {
        try #require(inIsolatedNetwork(), "needs an isolated network namespace")
        let rig = try Rig()
        defer { rig.daemon.stop() }
        try rig.rewrite(Self.config(reason: "second"))
        #expect(try rig.kamcmd("cfg.reload_script").contains("generation: 1"))
        rig.uac.send(rig.invite("dialog-call"), to: "127.0.0.1", port: rig.daemon.port)
        let inv = try #require(expect(rig.uas, "INVITE", timeout: 10, callID: "dialog-call"))
        rig.uas.send(ringing(inv).replacingOccurrences(of: "SIP/2.0 180 Ringing", with: "SIP/2.0 200 OK")
            .replacingOccurrences(of: "Content-Length: 0", with: "Contact: <sip:bob@127.0.0.1:\(rig.uas.port)>\r\nContent-Length: 0"),
                     to: "127.0.0.1", port: rig.daemon.port)
        _ = try #require(expect(rig.uac, "SIP/2.0 200", timeout: 10, callID: "dialog-call"))
        #expect(poll(5) { rig.daemon.log.contains("dialog-start second") }, "\(rig.daemon.log)")
        #expect(!rig.daemon.log.contains("dialog-start first"))
    }
}

private func firstLine(_ m: String?) -> String? {
    m?.components(separatedBy: "\r\n").first
}

/// True once `check` holds, trying for up to `seconds`.
private func poll(_ seconds: Double, _ check: () -> Bool) -> Bool {
    let deadline = Date().addingTimeInterval(seconds)
    while Date() < deadline {
        if check() { return true }
        usleep(50_000)
    }
    return check()
}

/// A 180 for `invite` from the UAS (its Vias, From, To with a tag, Call-ID, CSeq).
private func ringing(_ invite: String) -> String {
    var lines = ["SIP/2.0 180 Ringing"]
    for line in invite.components(separatedBy: "\r\n").dropFirst() {
        if line.isEmpty { break }
        let name = line.prefix { $0 != ":" }.lowercased()
        if ["via", "from", "call-id", "cseq"].contains(name) { lines.append(line) }
        if name == "to" { lines.append(line + ";tag=uas1") }
    }
    lines.append("Content-Length: 0")
    return lines.joined(separator: "\r\n") + "\r\n\r\n"
}

/// A REGISTER for alice with `Expires` from `peer`.
private func registerRequest(peer: UDPPeer, expires: Int) -> String {
    sipRequest("REGISTER", uri: "sip:127.0.0.1", via: "UDP 127.0.0.1:\(peer.port)",
               extra: ["Contact: <sip:alice@127.0.0.1:\(peer.port)>", "Expires: \(expires)"])
}

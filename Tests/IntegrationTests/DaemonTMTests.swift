import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// A stateful proxy script: record-routes INVITEs, relays through tm to `{UAS}`, and
/// re-routes a 486 to `{UAS2}` in failure_route.
private let statefulConfig = proxyConfig(loading: ["tm", "sl", "rr", "siputils", "textops", "dialog", "maxfwd", "xlog", "ctl", "kex"], """
modparam("tm", "wait_timer", 500)
modparam("tm", "fr_timer", 1000)
modparam("tm", "fr_inv_timer", 1500)
request_route {
    if (is_method("OPTIONS") && uri == myself) { sl_send_reply("200", "OK"); exit; }
    if (has_totag()) {
        if (loose_route()) {
            if (is_method("BYE") && is_known_dlg()) { append_hf("X-Dialog-Caller: $dlg_var(caller)\\r\\n"); }
            if (check_route_param("ftag=") && is_direction("downstream")) { append_hf("X-Direction: down\\r\\n"); }
            t_relay();
            exit;
        }
        if (is_method("ACK") && t_check_trans()) { t_relay(); exit; }
        sl_send_reply("404", "Not here");
        exit;
    }
    if (is_method("CANCEL")) {
        if (t_check_trans()) { t_relay(); }
        exit;
    }
    t_check_trans();
    if (is_method("INVITE")) { record_route(); dlg_manage(); $dlg_var(caller) = $fU; }
    if (is_present_hf("X-Direct")) {
        # fr_timer 1 s is for the 408 test; here a kamcmd call runs while the UAS waits
        t_set_fr(10000, 10000);
        if (!t_relay("udp:127.0.0.1:{UAS2}")) { sl_reply_error(); }
        exit;
    }
    if (is_present_hf("X-Serial")) {
        $ru = "sip:bob@127.0.0.1:{UAS}";
        append_branch("sip:carol@127.0.0.1:{UAS2}", "0.5");
        t_load_contacts();
        t_next_contacts();
        t_on_failure("SERIAL");
        t_relay();
        exit;
    }
    if (is_present_hf("X-Fork")) { append_branch("sip:bob@127.0.0.1:{UAS2}"); }
    $du = "sip:127.0.0.1:{UAS}";
    t_on_failure("REROUTE");
    if (!t_relay()) { sl_reply_error(); }
}
failure_route[SERIAL] {
    if (t_is_canceled()) { exit; }
    if (t_next_contacts()) { t_on_failure("SERIAL"); t_relay(); }
}
failure_route[REROUTE] {
    xlog("L_INFO", "failure_route: $T_reply_code\\n");
    if (t_is_canceled()) { exit; }
    if (t_check_status("486")) {
        $du = "sip:127.0.0.1:{UAS2}";
        append_hf("X-Rerouted: yes\\r\\n");
        t_relay();
    }
}
""")

/// A reply to a request text received by a test peer: Vias, From, Call-ID and CSeq
/// copied, To with `toTag` (§8.2.6).
func replyText(_ request: String, _ code: Int, _ reason: String, toTag: String? = "uas1", extra: [String] = []) -> String {
    var out = ["SIP/2.0 \(code) \(reason)"]
    for line in request.components(separatedBy: "\r\n").dropFirst() {
        if line.isEmpty { break }
        let name = line.prefix { $0 != ":" }.lowercased()
        if ["via", "from", "call-id", "cseq", "record-route"].contains(name) { out.append(line) }
        if name == "to" { out.append(line.contains("tag=") || toTag == nil ? line : line + ";tag=\(toTag ?? "")") }
    }
    out += extra
    out.append("Content-Length: 0")
    return out.joined(separator: "\r\n") + "\r\n\r\n"
}

/// Waits for a message whose first line starts with `prefix` and, when given, whose Call-ID
/// is `callID` and CSeq `cseq`, skipping others (such as retransmissions of earlier ones
/// that a loaded machine let pile up).
func expect(_ peer: UDPPeer, _ prefix: String, timeout: Double = 5, callID: String? = nil, cseq: String? = nil) -> String? {
    let deadline = Date().addingTimeInterval(timeout)
    while Date() < deadline {
        guard let m = peer.receive(timeout: max(0.05, deadline.timeIntervalSinceNow)) else { return nil }
        if m.hasPrefix(prefix), callID == nil || headerValue(m, "Call-ID") == callID,
           cseq == nil || headerValue(m, "CSeq") == cseq { return m }
    }
    return nil
}

/// Every message that arrives within `timeout` seconds.
func drain(_ peer: UDPPeer, timeout: Double) -> [String] {
    var out: [String] = []
    let deadline = Date().addingTimeInterval(timeout)
    while Date() < deadline, let m = peer.receive(timeout: max(0.01, deadline.timeIntervalSinceNow)) { out.append(m) }
    return out
}

@Suite("tm: stateful proxying", .serialized)
struct DaemonTMTests {
    let uac: UDPPeer
    let uas: UDPPeer
    let uas2: UDPPeer
    let daemon: DaemonProcess

    init() throws {
        (uac, uas, uas2, daemon) = try proxyBetweenPeers(statefulConfig)
    }

    func invite(callID: String = UUID().uuidString) -> String {
        sipRequest("INVITE", uri: "sip:bob@127.0.0.1:\(daemon.port)", via: "UDP 127.0.0.1:\(uac.port)",
                   extra: ["Contact: <sip:alice@127.0.0.1:\(uac.port)>"], callID: callID)
    }

    @Test("INVITE gets 100 at once; retransmissions are absorbed with the last reply; the ACK of a 486 stays hop by hop")
    func retransmissionsAndNegativeACK() throws {
        try #require(inIsolatedNetwork(), "needs an isolated network namespace")
        defer { daemon.stop() }
        let inv = invite()
        uac.send(inv, to: "127.0.0.1", port: daemon.port)
        #expect(statusCode(expect(uac, "SIP/2.0 100")) == 100)
        let forwarded = try #require(expect(uas, "INVITE"))
        // dlg_manage() after record_route() still marks the Record-Route (Kamailio's did)
        #expect(headerValue(forwarded, "Record-Route")?.contains(";lr;ftag=") == true)
        #expect(headerValue(forwarded, "Record-Route")?.contains(";did=") == true)
        #expect(forwarded.contains(";branch=z9hG4bKtm"))
        // the same INVITE again: replayed 100, nothing new downstream (§17.2.1)
        uac.send(inv, to: "127.0.0.1", port: daemon.port)
        #expect(statusCode(expect(uac, "SIP/2.0 100")) == 100)
        // the UAS is busy and there is no second one to try after the first 486
        uas.send(replyText(forwarded, 180, "Ringing"), to: "127.0.0.1", port: daemon.port)
        #expect(statusCode(expect(uac, "SIP/2.0 180")) == 180)
        uas.send(replyText(forwarded, 404, "Not Found"), to: "127.0.0.1", port: daemon.port)
        let ack = try #require(expect(uas, "ACK"))
        #expect(headerValue(ack, "To")?.contains("tag=uas1") == true)
        #expect(headerValue(ack, "CSeq") == "1 ACK")
        #expect(headerValue(ack, "Max-Forwards") == headerValue(forwarded, "Max-Forwards"))
        let final = try #require(expect(uac, "SIP/2.0 404"))
        #expect(headerValue(final, "Via")?.contains(String(uac.port)) == true)
        // a retransmitted 404 is ACKed again but not relayed twice
        uas.send(replyText(forwarded, 404, "Not Found"), to: "127.0.0.1", port: daemon.port)
        #expect(expect(uas, "ACK") != nil)
        // the INVITE retransmitted after the final: the 404 again
        uac.send(inv, to: "127.0.0.1", port: daemon.port)
        #expect(statusCode(expect(uac, "SIP/2.0 404")) == 404)
        // our ACK to the 404 (same branch as the INVITE, §17.1.1.3) ends at the proxy
        let ackUp = inv.replacingOccurrences(of: "INVITE sip:", with: "ACK sip:")
            .replacingOccurrences(of: "CSeq: 1 INVITE", with: "CSeq: 1 ACK")
            .replacingOccurrences(of: "To: <sip:bob@example.com>", with: "To: <sip:bob@example.com>;tag=uas1")
        uac.send(ackUp, to: "127.0.0.1", port: daemon.port)
        let ackSent = Date()
        // Timer G stops with the ACK. A loaded machine can leave a retransmission sent before
        // the ACK was handled in flight; the next ones (1.5 s and 3.5 s after the 404) must
        // not come: nothing more than a second after the ACK.
        var late: [Double] = []
        let until = Date().addingTimeInterval(2.5)
        while Date() < until, let m = uac.receive(timeout: max(0.05, until.timeIntervalSinceNow)) {
            if m.hasPrefix("SIP/2.0 404") { late.append(Date().timeIntervalSince(ackSent)) }
        }
        #expect(late.allSatisfy { $0 < 1 }, "404 retransmitted after the ACK: \(late)")
        #expect(drain(uas, timeout: 0.2).filter { $0.hasPrefix("ACK") || $0.hasPrefix("INVITE") }.isEmpty)
    }

    @Test("a call: 200 relayed with Record-Route, ACK and BYE loose-routed, the dialog known until the BYE")
    func dialogCall() throws {
        try #require(inIsolatedNetwork(), "needs an isolated network namespace")
        defer { daemon.stop() }
        try runDialogCall()
    }

    /// INVITE/200/ACK/BYE/200 with Route, checking the dialog's variable on the BYE.
    func runDialogCall() throws {
        let callID = UUID().uuidString
        let inv = invite(callID: callID)
        uac.send(inv, to: "127.0.0.1", port: daemon.port)
        let forwarded = try #require(expect(uas, "INVITE"))
        let rr = try #require(headerValue(forwarded, "Record-Route"))
        uas.send(replyText(forwarded, 200, "OK", extra: ["Contact: <sip:bob@127.0.0.1:\(uas.port)>"]),
                 to: "127.0.0.1", port: daemon.port)
        let ok = try #require(expect(uac, "SIP/2.0 200"))
        #expect(headerValue(ok, "Record-Route") == rr)
        let fromLine = try #require(inv.components(separatedBy: "\r\n").first { $0.hasPrefix("From:") })
        func inDialog(_ method: String, cseq: Int) -> String {
            ["\(method) sip:bob@127.0.0.1:\(uas.port) SIP/2.0",
             "Via: SIP/2.0/UDP 127.0.0.1:\(uac.port);branch=z9hG4bK\(UUID().uuidString.prefix(10))",
             "Route: \(rr)", fromLine, "To: <sip:bob@example.com>;tag=uas1", "Call-ID: \(callID)",
             "CSeq: \(cseq) \(method)", "Max-Forwards: 70", "Content-Length: 0", "", ""].joined(separator: "\r\n")
        }
        uac.send(inDialog("ACK", cseq: 1), to: "127.0.0.1", port: daemon.port)
        let ack = try #require(expect(uas, "ACK"))
        #expect(headerValue(ack, "Route") == nil)
        uac.send(inDialog("BYE", cseq: 2), to: "127.0.0.1", port: daemon.port)
        let bye = try #require(expect(uas, "BYE"))
        #expect(headerValue(bye, "X-Dialog-Caller") == "alice")
        #expect(headerValue(bye, "X-Direction") == "down")
        uas.send(replyText(bye, 200, "OK"), to: "127.0.0.1", port: daemon.port)
        #expect(expect(uac, "SIP/2.0 200") != nil)
        // the dialog ended with the BYE
        uac.send(inDialog("BYE", cseq: 3), to: "127.0.0.1", port: daemon.port)
        let again = try #require(expect(uas, "BYE", cseq: "3 BYE"))
        #expect(headerValue(again, "X-Dialog-Caller") == nil)
    }

    @Test("parallel fork: both branches ring, the first 2xx goes up, the other branch gets CANCEL and its 487 stays")
    func parallelFork() throws {
        try #require(inIsolatedNetwork(), "needs an isolated network namespace")
        defer { daemon.stop() }
        let inv = sipRequest("INVITE", uri: "sip:bob@127.0.0.1:\(daemon.port)", via: "UDP 127.0.0.1:\(uac.port)",
                             extra: ["X-Fork: yes"])
        uac.send(inv, to: "127.0.0.1", port: daemon.port)
        let a = try #require(expect(uas, "INVITE"))
        let b = try #require(expect(uas2, "INVITE"))
        #expect(b.hasPrefix("INVITE sip:bob@127.0.0.1:\(uas2.port) SIP/2.0"))
        #expect(headerValue(a, "Via") != headerValue(b, "Via"))
        uas.send(replyText(a, 180, "Ringing", toTag: "a"), to: "127.0.0.1", port: daemon.port)
        uas2.send(replyText(b, 180, "Ringing", toTag: "b"), to: "127.0.0.1", port: daemon.port)
        // Both relayed (§16.7 step 5) before the 200: two workers may take the 180s in either
        // order, and one handled after the 200 would leave its branch without a CANCEL yet.
        let rings = [expect(uac, "SIP/2.0 180"), expect(uac, "SIP/2.0 180")]
        #expect(Set(rings.compactMap { headerValue($0, "To")?.components(separatedBy: "tag=").last }) == ["a", "b"])
        uas2.send(replyText(b, 200, "OK", toTag: "b"), to: "127.0.0.1", port: daemon.port)
        let ok = try #require(expect(uac, "SIP/2.0 200"))
        #expect(headerValue(ok, "To")?.contains("tag=b") == true)
        let cancel = try #require(expect(uas, "CANCEL"))
        #expect(headerValue(cancel, "Via") == headerValue(a, "Via"))
        uas.send(replyText(cancel, 200, "OK", toTag: "a"), to: "127.0.0.1", port: daemon.port)
        uas.send(replyText(a, 487, "Request Terminated", toTag: "a"), to: "127.0.0.1", port: daemon.port)
        #expect(expect(uas, "ACK") != nil)
        #expect(drain(uac, timeout: 0.4).filter { $0.hasPrefix("SIP/2.0 487") }.isEmpty)
    }

    @Test("serial fork by q: the q=1 contact first, the q=0.5 one after its failure, via t_next_contacts")
    func serialFork() throws {
        try #require(inIsolatedNetwork(), "needs an isolated network namespace")
        defer { daemon.stop() }
        uac.send(sipRequest("INVITE", uri: "sip:bob@127.0.0.1:\(daemon.port)", via: "UDP 127.0.0.1:\(uac.port)",
                            extra: ["X-Serial: yes"]), to: "127.0.0.1", port: daemon.port)
        let first = try #require(expect(uas, "INVITE"))
        #expect(first.hasPrefix("INVITE sip:bob@127.0.0.1:\(uas.port) SIP/2.0"))
        #expect(drain(uas2, timeout: 0.2).isEmpty)  // not in parallel
        uas.send(replyText(first, 486, "Busy Here"), to: "127.0.0.1", port: daemon.port)
        let second = try #require(expect(uas2, "INVITE"))
        #expect(second.hasPrefix("INVITE sip:carol@127.0.0.1:\(uas2.port) SIP/2.0"))
        uas2.send(replyText(second, 603, "Decline"), to: "127.0.0.1", port: daemon.port)
        // no group left: the best of both finals goes up (6xx, §16.7 step 6)
        #expect(statusCode(expect(uac, "SIP/2.0 6")) == 603)
    }

    @Test("t_relay(\"udp:host:port\") sends to that address whatever the Request-URI says")
    func relayToAddress() throws {
        try #require(inIsolatedNetwork(), "needs an isolated network namespace")
        defer { daemon.stop() }
        let msg = sipRequest("MESSAGE", uri: "sip:bob@example.com", via: "UDP 127.0.0.1:\(uac.port)", extra: ["X-Direct: 1"])
        uac.send(msg, to: "127.0.0.1", port: daemon.port)
        let got = try #require(expect(uas2, "MESSAGE"))
        #expect(got.hasPrefix("MESSAGE sip:bob@example.com SIP/2.0"))
        // non-INVITE: no 100 from the proxy; Timer E retransmits (T1) until the 200
        #expect(expect(uas2, "MESSAGE", timeout: 1.4) != nil)  // the next one would be 1.5 s after the first
        uas2.send(replyText(got, 200, "OK"), to: "127.0.0.1", port: daemon.port)
        #expect(statusCode(expect(uac, "SIP/2.0")) == 200)
    }

    @Test("finished transactions and ended dialogs leave their tables (tm.stats, dialog: statistics)",
          .enabled(if: which("kamcmd") != nil))
    func tablesEmpty() throws {
        try #require(inIsolatedNetwork(), "needs an isolated network namespace")
        defer { daemon.stop() }
        func kamcmd(_ args: [String]) throws -> String {
            try run(which("kamcmd") ?? "kamcmd", ["-s", "unix:" + daemon.dir.path + "/kamailio_ctl"] + args, timeout: 20).output
        }
        let msg = sipRequest("MESSAGE", uri: "sip:bob@example.com", via: "UDP 127.0.0.1:\(uac.port)", extra: ["X-Direct: 1"])
        uac.send(msg, to: "127.0.0.1", port: daemon.port)
        let got = try #require(expect(uas2, "MESSAGE"))
        #expect(try kamcmd(["tm.stats"]).contains("current: 1"))
        uas2.send(replyText(got, 200, "OK"), to: "127.0.0.1", port: daemon.port)
        #expect(expect(uac, "SIP/2.0 200") != nil)
        // freed once wait_timer (500 ms) has run: poll, the timer thread may be late under load
        let tm = try pollText({ try kamcmd(["tm.stats"]) }, until: { $0.contains("current: 0") })
        #expect(tm.contains("current: 0") && tm.contains("total: 1"), "\(tm)")
        // a dialog: confirmed by the 2xx, gone with the BYE
        try runDialogCall()
        let dlg = try kamcmd(["stats.get_statistics", "dialog:"])
        #expect(dlg.contains("dialog:processed_dialogs = 1") && dlg.contains("dialog:active_dialogs = 0"), "\(dlg)")
    }

    @Test("CANCEL during ringing: 200 for the CANCEL, CANCEL downstream, 487 upstream")
    func cancelRinging() throws {
        try #require(inIsolatedNetwork(), "needs an isolated network namespace")
        defer { daemon.stop() }
        let inv = invite()
        uac.send(inv, to: "127.0.0.1", port: daemon.port)
        let forwarded = try #require(expect(uas, "INVITE"))
        uas.send(replyText(forwarded, 180, "Ringing"), to: "127.0.0.1", port: daemon.port)
        #expect(expect(uac, "SIP/2.0 180") != nil)
        let cancel = inv.replacingOccurrences(of: "INVITE sip:", with: "CANCEL sip:")
            .replacingOccurrences(of: "CSeq: 1 INVITE", with: "CSeq: 1 CANCEL")
        uac.send(cancel, to: "127.0.0.1", port: daemon.port)
        let ok = try #require(expect(uac, "SIP/2.0 200"))
        #expect(headerValue(ok, "CSeq") == "1 CANCEL")
        let down = try #require(expect(uas, "CANCEL"))
        #expect(headerValue(down, "Via") == headerValue(forwarded, "Via"))
        uas.send(replyText(down, 200, "OK"), to: "127.0.0.1", port: daemon.port)
        uas.send(replyText(forwarded, 487, "Request Terminated"), to: "127.0.0.1", port: daemon.port)
        #expect(expect(uas, "ACK") != nil)
        let final = try #require(expect(uac, "SIP/2.0 487"))
        #expect(headerValue(final, "CSeq") == "1 INVITE")
    }

    @Test("a 486 runs failure_route, which re-routes to a second UAS that answers")
    func failureRouteReroutes() throws {
        try #require(inIsolatedNetwork(), "needs an isolated network namespace")
        defer { daemon.stop() }
        uac.send(invite(), to: "127.0.0.1", port: daemon.port)
        let first = try #require(expect(uas, "INVITE"))
        uas.send(replyText(first, 486, "Busy Here"), to: "127.0.0.1", port: daemon.port)
        #expect(expect(uas, "ACK") != nil)
        let second = try #require(expect(uas2, "INVITE"))
        #expect(headerValue(second, "X-Rerouted") == "yes")
        #expect(headerValue(second, "Record-Route") != nil)
        #expect(headerValue(second, "Via") != headerValue(first, "Via"))
        uas2.send(replyText(second, 200, "OK", toTag: "uas2"), to: "127.0.0.1", port: daemon.port)
        let ok = try #require(expect(uac, "SIP/2.0 200"))
        #expect(headerValue(ok, "To")?.contains("tag=uas2") == true)
        #expect(drain(uac, timeout: 0.3).filter { $0.hasPrefix("SIP/2.0 486") }.isEmpty)
        #expect(daemon.log.contains("failure_route: 486"))
    }

    @Test("no answer: INVITE retransmitted downstream on Timer A, then 408 after fr_timer")
    func timeout408() throws {
        try #require(inIsolatedNetwork(), "needs an isolated network namespace")
        defer { daemon.stop() }
        uac.send(invite(), to: "127.0.0.1", port: daemon.port)
        let start = Date()
        let final = try #require(expect(uac, "SIP/2.0 408", timeout: 8))
        let took = Date().timeIntervalSince(start)
        // fr_timer (1 s), not fr_inv_timer or a default; slack for a late timer thread
        #expect(took > 0.8 && took < 4, "\(took)")
        #expect(headerValue(final, "To")?.contains("tag=") == true)
        // first send at 0, retransmissions at 0.5 s (and 1.5 s would be after fr_timer)
        let invites = drain(uas, timeout: 0.1).filter { $0.hasPrefix("INVITE") }
        #expect(invites.count >= 2)
        #expect(daemon.log.contains("failure_route: 408"))
    }

    @Test("sipp calls with Record-Route, ACK and BYE complete through t_relay()")
    func sippCalls() throws {
        try sippRun(calls: 20, extra: [])
    }

    @Test("sipp calls complete when the caller loses 10% of what it receives (retransmissions recover)")
    func sippLossy() throws {
        try sippRun(calls: 15, extra: ["-lost", "10"])
    }

    func sippRun(calls: Int, extra: [String]) throws {
        try #require(inIsolatedNetwork(), "needs an isolated network namespace")
        defer { daemon.stop() }
        guard let sipp = which("sipp") else { return }
        let scen = TestPaths.shared.appendingPathComponent("bench/scenarios")
        let uasPort = freePort()
        // a second proxy whose script relays to the sipp UAS
        let cfg = statefulConfig.replacingOccurrences(of: "{UAS}", with: String(uasPort))
            .replacingOccurrences(of: "{UAS2}", with: String(uas2.port))
        let proxy = try DaemonProcess(config: cfg)
        defer { proxy.stop() }
        let server = Process()
        server.executableURL = URL(fileURLWithPath: sipp)
        server.arguments = ["-sf", scen.appendingPathComponent("uas_rr.xml").path, "-p", String(uasPort),
                            "-i", "127.0.0.1", "-nostdin"]
        let uasLog = proxy.dir.appendingPathComponent("uas.log")
        _ = FileManager.default.createFile(atPath: uasLog.path, contents: nil)
        let uasOut = try FileHandle(forWritingTo: uasLog)
        server.standardOutput = uasOut
        server.standardError = uasOut
        server.standardInput = FileHandle.nullDevice
        try server.run()
        // By pid, then poll: waitUntilExit can hang on a child that is already gone.
        defer {
            kill(server.processIdentifier, SIGKILL)
            for _ in 0..<200 where server.isRunning { usleep(10_000) }
        }
        #expect(waitForUDPListener(uasPort), "the sipp UAS did not start")
        func callRun() throws -> (status: Int32, output: String) {
            try run(sipp, ["-sf", scen.appendingPathComponent("uac_rr.xml").path, "127.0.0.1:\(proxy.port)",
                           "-s", "bob", "-i", "127.0.0.1", "-p", String(freePort()), "-m", String(calls), "-r", "20",
                           "-d", "50", "-timeout", "40", "-nostdin", "-pause_msg_ign"] + extra, timeout: 60)
        }
        var r = try callRun()
        // With random loss (-lost) a call can fail when the same message is lost on every
        // retransmission; one more run tells that bad luck from broken recovery.
        if r.status != 0, !extra.isEmpty { r = try callRun() }
        #expect(r.status == 0, "sipp: \(r.output.suffix(1500)) uas: \((try? String(contentsOf: uasLog, encoding: .utf8))?.suffix(800) ?? "")")
    }
}

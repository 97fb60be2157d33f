import Foundation
import Testing
import TestSupport
#if canImport(Glibc)
import Glibc
#endif

/// A dialog-stateful proxy: record-routes and tracks INVITEs, relays everything through
/// tm to the sipp callee on `{UAS}`, keeps the caller's user in a profile and logs the
/// dialog events and its timeout route. `{TIMEOUT}` is the dialog lifetime, `{TBYE}` 1 to
/// BYE on timeout, `{MODPARAMS}` more dialog modparams, `{INDIALOG}` script run for
/// in-dialog requests after loose_route().
let dialogConfig = proxyConfig(loading: ["tm", "sl", "rr", "dialog", "xlog", "textops", "siputils", "pv", "ctl", "kex"], """
modparam("dialog", "default_timeout", {TIMEOUT})
modparam("dialog", "profiles_with_value", "caller")
modparam("dialog", "profiles_no_value", "inbound")
{MODPARAMS}
request_route {
    if (is_method("OPTIONS") && uri == myself) { sl_send_reply("200", "OK"); exit; }
    if (has_totag()) {
        if (loose_route()) {
            {INDIALOG}
            if (is_method("INFO") && is_known_dlg()) { sl_send_reply("200", "Ending"); dlg_bye("all"); exit; }
            t_relay();
            exit;
        }
        if (is_method("ACK") && t_check_trans()) { t_relay(); exit; }
        sl_send_reply("404", "Not here");
        exit;
    }
    if (is_method("INVITE")) {
        record_route();
        $dlg_ctx(timeout_bye) = {TBYE};
        {ONINVITE}
        dlg_manage();
        $dlg_ctx(timeout_route) = "DLGTIMEOUT";
        xlog("L_INFO", "timeout route set $dlg_ctx(timeout_route) id=$dlg_ctx(timeout_route_id) toroute=$dlg(toroute)\\n");
        $dlg_var(src) = $si;
        set_dlg_profile("caller", "$fU");
        set_dlg_profile("inbound");
        get_profile_size("inbound", "$var(n)");
        xlog("L_INFO", "profile inbound size $var(n)\\n");
    }
    $du = "sip:127.0.0.1:{UAS}";
    if (!t_relay()) { sl_reply_error(); }
}
route[DLGTIMEOUT] {
    xlog("L_INFO", "timeout route ran for $dlg(callid) state=$dlg(state) toroute=$dlg(toroute) var=$dlg_var(src) over $rm\\n");
}
event_route[dialog:start] {
    xlog("L_INFO", "dialog start $dlg(callid) state=$dlg(state) h=$dlg(h_entry):$dlg(h_id) totag=$dlg(to_tag) start=$dlg(start_ts)\\n");
}
event_route[dialog:end] {
    xlog("L_INFO", "dialog end $dlg(callid) var=$dlg_var(src) over $rm\\n");
}
""")

/// A caller that answers a BYE from the network instead of sending one: INVITE, ACK,
/// then wait for the proxy's BYE and answer 200.
let uacWaitsForBye = """
<?xml version="1.0" encoding="ISO-8859-1" ?>
<scenario name="caller that receives the BYE">
  <send retrans="500">
    <![CDATA[
      INVITE sip:bob@[remote_ip]:[remote_port] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      From: <sip:sipp@[local_ip]:[local_port]>;tag=[pid]C[call_number]
      To: <sip:bob@[remote_ip]:[remote_port]>
      Call-ID: [call_id]
      CSeq: 1 INVITE
      Contact: <sip:sipp@[local_ip]:[local_port]>
      Max-Forwards: 70
      Content-Length: 0
    ]]>
  </send>
  <recv response="100" optional="true"/>
  <recv response="180" optional="true"/>
  <recv response="200" rrs="true"/>
  <send>
    <![CDATA[
      ACK [next_url] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      [routes]
      From: <sip:sipp@[local_ip]:[local_port]>;tag=[pid]C[call_number]
      To: <sip:bob@[remote_ip]:[remote_port]>[peer_tag_param]
      Call-ID: [call_id]
      CSeq: 1 ACK
      Max-Forwards: 70
      Content-Length: 0
    ]]>
  </send>
  <recv request="BYE" timeout="30000"/>
  <send>
    <![CDATA[
      SIP/2.0 200 OK
      [last_Via:]
      [last_From:]
      [last_To:]
      [last_Call-ID:]
      [last_CSeq:]
      Content-Length: 0
    ]]>
  </send>
  <timewait milliseconds="300"/>
</scenario>
"""

/// A sipp process in the background, its output in a file; stopped by PID.
final class DialogSippProcess {
    let process = Process()
    let logURL: URL

    init(_ sipp: String, _ args: [String], log: URL) throws {
        logURL = log
        _ = FileManager.default.createFile(atPath: log.path, contents: nil)
        let out = try FileHandle(forWritingTo: log)
        process.executableURL = URL(fileURLWithPath: sipp)
        process.arguments = args + ["-nostdin"]
        process.standardOutput = out
        process.standardError = out
        process.standardInput = FileHandle.nullDevice
        try process.run()
    }

    /// Waits for the exit (polling, with a deadline); nil when it is still running.
    func wait(_ seconds: Double) -> Int32? {
        let deadline = Date().addingTimeInterval(seconds)
        while process.isRunning && Date() < deadline { usleep(20_000) }
        return process.isRunning ? nil : process.terminationStatus
    }

    var log: String { (try? String(contentsOf: logURL, encoding: .utf8)) ?? "" }

    /// What sipp traced (`-trace_msg -message_file` next to the log as `.msg`).
    var messages: String {
        (try? String(contentsOf: logURL.deletingPathExtension().appendingPathExtension("msg"), encoding: .utf8)) ?? ""
    }

    func stop() {
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        for _ in 0..<200 where process.isRunning { usleep(10_000) }
    }
}

@Suite("dialog: tracking, dlg.* RPC, BYEs from the proxy", .serialized,
       .enabled(if: which("sipp") != nil && which("kamcmd") != nil))
struct DaemonDialogTests {
    let sipp = which("sipp") ?? "sipp"
    let scenarios = TestPaths.shared.appendingPathComponent("bench/scenarios")

    /// A proxy on a free port relaying to a sipp callee (uas_rr.xml: answers, then takes a BYE).
    func start(timeout: Int = 43200, timeoutBye: Bool = false, modparams: String = "", inDialog: String = "",
               uasScenario: String? = nil, uasPort: UInt16 = freePort()) throws -> (DaemonProcess, DialogSippProcess) {
        let proxy = try DaemonProcess(config: Self.config(uas: uasPort, timeout: timeout, timeoutBye: timeoutBye,
                                                          modparams: modparams, inDialog: inDialog))
        let uas = try DialogSippProcess(sipp, ["-sf", uasScenario ?? scenarios.appendingPathComponent("uas_rr.xml").path, "-p", String(uasPort),
                                         "-i", "127.0.0.1", "-m", "1", "-trace_msg", "-message_file",
                                         proxy.dir.appendingPathComponent("uas.msg").path], log: proxy.dir.appendingPathComponent("uas.log"))
        #expect(waitForUDPListener(uasPort), "the sipp UAS did not start: \(uas.log)")
        return (proxy, uas)
    }

    /// `dialogConfig` filled in.
    static func config(uas: UInt16, timeout: Int = 43200, timeoutBye: Bool = false, modparams: String = "", inDialog: String = "",
                       onInvite: String = "") -> String {
        dialogConfig.replacingOccurrences(of: "{UAS}", with: String(uas))
            .replacingOccurrences(of: "{ONINVITE}", with: onInvite)
            .replacingOccurrences(of: "{TIMEOUT}", with: String(timeout))
            .replacingOccurrences(of: "{TBYE}", with: timeoutBye ? "1" : "0")
            .replacingOccurrences(of: "{MODPARAMS}", with: modparams)
            .replacingOccurrences(of: "{INDIALOG}", with: inDialog)
    }

    /// A caller that waits for the BYE (scenario written next to the daemon's files).
    func callerWaitingForBye(_ proxy: DaemonProcess, scenario: String = uacWaitsForBye) throws -> DialogSippProcess {
        let scen = proxy.dir.appendingPathComponent("uac_wait_bye.xml")
        try scenario.write(to: scen, atomically: true, encoding: .utf8)
        return try DialogSippProcess(sipp, ["-sf", scen.path, "127.0.0.1:\(proxy.port)", "-i", "127.0.0.1", "-p", String(freePort()),
                                      "-m", "1", "-timeout", "40"], log: proxy.dir.appendingPathComponent("uac.log"))
    }

    func kamcmd(_ proxy: DaemonProcess, _ args: [String]) throws -> String {
        try run(which("kamcmd") ?? "kamcmd", ["-s", "unix:" + proxy.dir.path + "/kamailio_ctl"] + args, timeout: 20).output
    }

    /// Polls `dlg.list` until `check` accepts it (or 15 s pass); returns the last text.
    func waitList(_ proxy: DaemonProcess, _ check: (String) -> Bool) throws -> String {
        var text = ""
        for _ in 0..<150 {
            text = try kamcmd(proxy, ["dlg.list"])
            if check(text) { break }
            usleep(100_000)
        }
        return text
    }

    /// Waits until the sipp callee has traced the call's ACK: state 4 in dlg.list shows that
    /// the proxy took the ACK, not that it relayed it yet, and a BYE sent before could
    /// overtake it (sipp fails a call on the late ACK then).
    func calleeGotACK(_ uas: DialogSippProcess) -> Bool {
        eventually(10) { uas.messages.contains("\nACK sip:") ? true : nil } != nil
    }

    /// The integer after `name: ` in kamcmd's output.
    func number(_ text: String, _ name: String) -> Int? {
        guard let r = text.range(of: "\t\(name): ") else { return nil }
        return Int(text[r.upperBound...].prefix { $0.isNumber })
    }

    @Test("a confirmed call is listed with state 4, its legs and profiles, and leaves the table after the caller's BYE")
    func listedThenGone() throws {
        try #require(inIsolatedNetwork(), "needs an isolated network namespace")
        // a long wait_timer: the BYE's transaction, and so its dialog in state 5, stay a while
        let (proxy, uas) = try start(modparams: "modparam(\"tm\", \"wait_timer\", 8000)")
        defer { uas.stop(); proxy.stop() }
        let uac = try DialogSippProcess(sipp, ["-sf", scenarios.appendingPathComponent("uac_rr.xml").path, "127.0.0.1:\(proxy.port)",
                                         "-s", "bob", "-i", "127.0.0.1", "-p", String(freePort()), "-m", "1", "-d", "3000",
                                         "-timeout", "40"], log: proxy.dir.appendingPathComponent("uac.log"))
        defer { uac.stop() }
        let list = try waitList(proxy) { $0.contains("state: 4") }
        #expect(list.contains("state: 4"), "\(list)")
        #expect(list.contains("from_uri: sip:caller@127.0.0.1"), "\(list)")
        #expect(list.contains("contact: sip:callee@127.0.0.1:"), "\(list)")  // the callee's Contact from the 200
        #expect(list.contains("lifetime: 43200") && list.contains("dflags: 1667"), "\(list)")
        // kamcmd's rendering as Kamailio's: unnamed members, newest profile first
        #expect(list.contains("\tprofiles: {\n\t\tinbound\n\t\t{\n\t\t\tcaller: caller\n\t\t}\n\t}"), "\(list)")
        #expect(list.contains("\tvariables: {\n\t\t{\n\t\t\tsrc: 127.0.0.1\n\t\t}\n\t}"), "\(list)")
        #expect(try kamcmd(proxy, ["dlg.profile_get_size", "inbound"]).trimmingCharacters(in: .whitespacesAndNewlines) == "1")
        #expect(try kamcmd(proxy, ["dlg.stats_active"]).contains("ongoing: 1"))
        #expect(uac.wait(30) == 0, "uac: \(uac.log.suffix(1500))")
        // as Kamailio: listed in state 5 while tm still holds the BYE's transaction
        let ended = try kamcmd(proxy, ["dlg.list"])
        #expect(ended.contains("state: 5") && !ended.contains("end_ts: 0"), "\(ended)")
        let after = try waitList(proxy) { !$0.contains("h_entry") }
        #expect(!after.contains("h_entry"), "\(after)")
        let stats = try kamcmd(proxy, ["stats.get_statistics", "dialog:"])
        #expect(stats.contains("dialog:active_dialogs = 0") && stats.contains("dialog:processed_dialogs = 1"), "\(stats)")
        #expect(try kamcmd(proxy, ["dlg.profile_get_size", "inbound"]).trimmingCharacters(in: .whitespacesAndNewlines) == "0")
        let log = proxy.log
        #expect(log.contains("profile inbound size 1"), "\(log.suffix(2000))")
        // as Kamailio: dialog:start runs before the 2xx goes on (state 3, never 4), before
        // the callee's tag and the start time are filled in
        #expect(log.contains("dialog start ") && log.contains("state=3 ") && log.contains("totag=<null> start=0"), "\(log.suffix(2000))")
        #expect(log.contains("timeout route set DLGTIMEOUT id=1 toroute=1"), "\(log.suffix(2000))")
        #expect(log.contains("dialog end ") && log.contains("var=127.0.0.1"), "\(log.suffix(2000))")
    }

    @Test("dlg.end_dlg sends a BYE to the caller and to the callee; both answer and the dialog is gone")
    func endDialogByesBothSides() throws {
        try #require(inIsolatedNetwork(), "needs an isolated network namespace")
        let (proxy, uas) = try start()
        defer { uas.stop(); proxy.stop() }
        let uac = try callerWaitingForBye(proxy)
        defer { uac.stop() }
        let list = try waitList(proxy) { $0.contains("state: 4") }
        let entry = try #require(number(list, "h_entry"), "\(list)")
        let id = try #require(number(list, "h_id"), "\(list)")
        #expect(calleeGotACK(uas), "\(uas.messages.suffix(1500))")
        let reply = try kamcmd(proxy, ["dlg.end_dlg", String(entry), String(id)])
        #expect(!reply.contains("error"), "\(reply)")
        #expect(uac.wait(20) == 0, "caller: \(uac.log.suffix(1500))")
        #expect(uas.wait(20) == 0, "callee: \(uas.log.suffix(1500))")
        #expect(!(try waitList(proxy) { !$0.contains("h_entry") }).contains("h_entry"))
        // faults as Kamailio 5.6.3 gives them
        #expect(try kamcmd(proxy, ["dlg.end_dlg", "1", "2"]).contains("404 - Dialog not found"))
        #expect(try kamcmd(proxy, ["dlg.end_dlg", "abc", "1"]).contains("500 - Invalid parameters"))
        #expect(try kamcmd(proxy, ["dlg.profile_get_size", "nosuch"]).contains("404 - Profile not found: nosuch"))
        #expect(try kamcmd(proxy, ["dlg.is_alive", "x", "y"]).contains("400 - Too few parameters (required callid, from-tag, to-tag)"))
        #expect(try kamcmd(proxy, ["dlg.list_match", "foo", "eq", "x"]).contains("500 - Invalid matching key parameter"))
    }

    @Test("behind a second record-routing proxy the callee's BYE carries that proxy as Route and passes through it (§12.2.1.1)")
    func byeFollowsRouteSet() throws {
        try #require(inIsolatedNetwork(), "needs an isolated network namespace")
        let (inner, uas) = try start()  // proxy B next to the callee
        defer { uas.stop(); inner.stop() }
        let outer = try DaemonProcess(config: Self.config(uas: inner.port))
        defer { outer.stop() }
        let uac = try callerWaitingForBye(outer)
        defer { uac.stop() }
        let list = try waitList(outer) { $0.contains("state: 4") }
        // A's view: nothing between it and the caller, B between it and the callee
        #expect(list.contains("route_set: <sip:127.0.0.1:\(inner.port);lr;"), "\(list)")
        #expect(try waitList(inner) { $0.contains("state: 4") }.contains("state: 4"))
        let entry = try #require(number(list, "h_entry")), id = try #require(number(list, "h_id"))
        #expect(calleeGotACK(uas), "\(uas.messages.suffix(1500))")
        _ = try kamcmd(outer, ["dlg.end_dlg", String(entry), String(id)])
        #expect(uac.wait(20) == 0, "caller: \(uac.log.suffix(1500))")
        #expect(uas.wait(20) == 0, "callee: \(uas.log.suffix(1500))")
        // B relayed that BYE, so its own dialog ended too (and ran dialog:end for it)
        #expect(!(try waitList(inner) { !$0.contains("h_entry") }).contains("h_entry"))
        #expect(inner.log.contains("dialog end "), "\(inner.log.suffix(1500))")
    }

    @Test("dlg_bye(\"all\") in the script ends the call: both sides get a BYE and answer it; the callee's has the CSeq after the INFO's")
    func scriptBye() throws {
        try #require(inIsolatedNetwork(), "needs an isolated network namespace")
        // Caller and callee played here: the INFO goes only once the ACK reached the callee (a
        // sipp caller could only pause, and two workers may take ACK and INFO in either order).
        let uac = try UDPPeer(), uas = try UDPPeer()
        let proxy = try DaemonProcess(config: Self.config(uas: uas.port))
        defer { proxy.stop() }
        let call = try PeerCall(uac: uac, uas: uas, proxyPort: proxy.port, callID: "script-bye-\(proxy.port)")
        call.send("INFO", cseq: 2)
        // the script's 200 and its BYE to the caller, in either order
        var ending: String?, byeUp: String?
        let deadline = Date().addingTimeInterval(5)
        while ending == nil || byeUp == nil, Date() < deadline,
              let m = uac.receive(timeout: max(0.05, deadline.timeIntervalSinceNow)) {
            if m.hasPrefix("SIP/2.0 200 Ending") { ending = m }
            if m.hasPrefix("BYE sip:caller@127.0.0.1:\(uac.port) ") { byeUp = m }
        }
        #expect(ending != nil, "\(proxy.log.suffix(1500))")
        let up = try #require(byeUp, "no BYE to the caller; log:\n\(proxy.log.suffix(1500))")
        uac.send(replyText(up, 200, "OK"), to: "127.0.0.1", port: proxy.port)
        let down = try #require(expect(uas, "BYE", callID: call.callID), "no BYE to the callee")
        #expect(headerValue(down, "CSeq") == "3 BYE", "\(down)")
        uas.send(replyText(down, 200, "OK"), to: "127.0.0.1", port: proxy.port)
        #expect(!(try waitList(proxy) { !$0.contains("h_entry") }).contains("h_entry"))
        let stats = try kamcmd(proxy, ["stats.get_statistics", "dialog:"])
        #expect(stats.contains("dialog:active_dialogs = 0") && stats.contains("dialog:expired_dialogs = 0"), "\(stats)")
    }

    @Test("keep-alives: OPTIONS to both sides after ka_interval with each side's CSeq; a 481 from the caller ends the call 10 s later with BYEs")
    func keepalives() throws {
        try #require(inIsolatedNetwork(), "needs an isolated network namespace")
        let uac = try UDPPeer(), uas = try UDPPeer()
        let proxy = try DaemonProcess(config: Self.config(
            uas: uas.port, modparams: "modparam(\"dialog\", \"ka_timer\", 1)\nmodparam(\"dialog\", \"ka_interval\", 30)",
            onInvite: "dlg_set_property(\"ka-src\"); dlg_set_property(\"ka-dst\");"))
        defer { proxy.stop() }
        let start = Date()
        let call = try PeerCall(uac: uac, uas: uas, proxyPort: proxy.port, callID: "ka-\(proxy.port)")
        let list = try waitList(proxy) { $0.contains("state: 4") }
        #expect(list.contains("iflags: 6"), "\(list)")  // ka-src | ka-dst, Kamailio's bits
        // towards the callee as the caller, with the caller's last CSeq (the INVITE's 1)
        let down = try #require(expect(uas, "OPTIONS sip:callee@127.0.0.1:\(uas.port) ", timeout: 40, callID: call.callID),
                                "no keep-alive to the callee; log:\n\(proxy.log.suffix(1500))")
        #expect(Date().timeIntervalSince(start) > 28, "sent before ka_interval")
        #expect(headerValue(down, "CSeq") == "1 OPTIONS" && headerValue(down, "To")?.hasSuffix("tag=callee1") == true, "\(down)")
        uas.send(replyText(down, 200, "OK"), to: "127.0.0.1", port: proxy.port)
        // towards the caller as the callee: its tag in From, the caller's in To
        let up = try #require(expect(uac, "OPTIONS sip:caller@127.0.0.1:\(uac.port) ", timeout: 5, callID: call.callID),
                              "no keep-alive to the caller")
        #expect(headerValue(up, "From")?.hasSuffix("tag=callee1") == true, "\(up)")
        uac.send(replyText(up, 481, "Call/Transaction Does Not Exist"), to: "127.0.0.1", port: proxy.port)
        let failedAt = Date()
        // the caller's phone is gone: 10 s later both sides get a BYE
        let byeDown = try #require(expect(uas, "BYE", timeout: 15, callID: call.callID), "no BYE to the callee; log:\n\(proxy.log.suffix(1500))")
        #expect(Date().timeIntervalSince(failedAt) > 8, "the BYE came before the 10 s")
        uas.send(replyText(byeDown, 200, "OK"), to: "127.0.0.1", port: proxy.port)
        let byeUp = try #require(expect(uac, "BYE", timeout: 5, callID: call.callID), "no BYE to the caller")
        uac.send(replyText(byeUp, 200, "OK"), to: "127.0.0.1", port: proxy.port)
        #expect(proxy.log.contains("keep-alive to the caller failed (481)"), "\(proxy.log.suffix(1500))")
        #expect(!(try waitList(proxy) { !$0.contains("h_entry") }).contains("h_entry"))
        let stats = try kamcmd(proxy, ["stats.get_statistics", "dialog:"])
        #expect(stats.contains("dialog:expired_dialogs = 1"), "\(stats)")
    }

    @Test("dlg_set_ruri sends an in-dialog request to the other side's Contact; dlg_refer sends the caller a REFER as the callee")
    func setRuriAndRefer() throws {
        try #require(inIsolatedNetwork(), "needs an isolated network namespace")
        let uac = try UDPPeer(), uas = try UDPPeer()
        let proxy = try DaemonProcess(config: Self.config(uas: uas.port, inDialog: """
            if (is_method("NOTIFY")) { dlg_set_ruri(); }
            if (is_method("MESSAGE")) { sl_send_reply("200", "Referring"); dlg_refer("caller", "sip:carol@127.0.0.1"); exit; }
            """))
        defer { proxy.stop() }
        let call = try PeerCall(uac: uac, uas: uas, proxyPort: proxy.port, callID: "refer-\(proxy.port)")
        // a request to a stale target reaches the callee's Contact
        let stale = call.request("NOTIFY", cseq: 2).replacingOccurrences(
            of: "NOTIFY sip:callee@127.0.0.1:\(uas.port) SIP/2.0", with: "NOTIFY sip:stale@127.0.0.1:9 SIP/2.0")
        uac.send(stale, to: "127.0.0.1", port: proxy.port)
        let notify = try #require(expect(uas, "NOTIFY", callID: call.callID), "not relayed to the callee; log:\n\(proxy.log.suffix(1500))")
        #expect(notify.hasPrefix("NOTIFY sip:callee@127.0.0.1:\(uas.port) SIP/2.0\r\n"), "\(notify)")
        uas.send(replyText(notify, 200, "OK"), to: "127.0.0.1", port: proxy.port)
        _ = try #require(expect(uac, "SIP/2.0 200", callID: call.callID, cseq: "2 NOTIFY"))
        // REFER to the caller, speaking as the callee (§12.2.1.1, RFC 3515)
        call.send("MESSAGE", cseq: 3)
        var refer: String?
        let deadline = Date().addingTimeInterval(5)
        while refer == nil, Date() < deadline, let m = uac.receive(timeout: max(0.05, deadline.timeIntervalSinceNow)) {
            if m.hasPrefix("REFER ") { refer = m }
        }
        let r = try #require(refer, "no REFER; log:\n\(proxy.log.suffix(1500))")
        #expect(r.hasPrefix("REFER sip:caller@127.0.0.1:\(uac.port) SIP/2.0\r\n"), "\(r)")
        #expect(headerValue(r, "Refer-To") == "<sip:carol@127.0.0.1>" && headerValue(r, "CSeq") == "1 REFER", "\(r)")
        #expect(headerValue(r, "From")?.hasSuffix("tag=callee1") == true, "\(r)")
        uac.send(replyText(r, 202, "Accepted"), to: "127.0.0.1", port: proxy.port)
        _ = pollText({ proxy.log }, until: { $0.contains("REFER to the caller [") && $0.contains("]: 202") })
        #expect(proxy.log.contains("]: 202"), "\(proxy.log.suffix(1500))")
    }

    @Test("a short default_timeout with timeout_bye ends the call with BYEs and counts it expired")
    func timeoutEndsWithByes() throws {
        try #require(inIsolatedNetwork(), "needs an isolated network namespace")
        let (proxy, uas) = try start(timeout: 2, timeoutBye: true)
        defer { uas.stop(); proxy.stop() }
        let uac = try callerWaitingForBye(proxy)
        defer { uac.stop() }
        let list = try waitList(proxy) { $0.contains("state: 4") }
        #expect(list.contains("lifetime: 2") && list.contains("iflags: 1"), "\(list)")
        #expect(uac.wait(25) == 0, "caller: \(uac.log.suffix(1500))")
        #expect(uas.wait(25) == 0, "callee: \(uas.log.suffix(1500))")
        // the sweeper counts and ends the dialog after sending the BYEs: poll
        let stats = try pollText({ try kamcmd(proxy, ["stats.get_statistics", "dialog:"]) },
                                 until: { $0.contains("dialog:expired_dialogs = 1") && $0.contains("dialog:active_dialogs = 0") })
        #expect(stats.contains("dialog:expired_dialogs = 1") && stats.contains("dialog:active_dialogs = 0"), "\(stats)")
        // as Kamailio 5.6.3: the timeout route runs first, over a local request; no
        // event_route[dialog:end] for a dialog the proxy ended with BYEs
        #expect(proxy.log.contains("timeout route ran for ") && proxy.log.contains(" state=4 toroute=1 var=127.0.0.1 over OPTIONS"),
                "\(proxy.log.suffix(2000))")
        #expect(proxy.log.contains("dialog start ") && !proxy.log.contains("dialog end "))
    }
}

import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// A record-routing, dialog-tracking proxy; in-dialog requests are loose-routed.
private let reinviteConfig = """
listen=udp:127.0.0.1:{PORT}
log_stderror=yes
debug=2
loadmodule "tm.so"
loadmodule "sl.so"
loadmodule "rr.so"
loadmodule "dialog.so"
loadmodule "siputils.so"
loadmodule "textops.so"
loadmodule "ctl.so"
loadmodule "kex.so"
request_route {
    if (is_method("OPTIONS") && uri == myself) { sl_send_reply("200", "OK"); exit; }
    if (has_totag()) {
        if (loose_route()) { t_relay(); exit; }
        if (is_method("ACK") && t_check_trans()) { t_relay(); exit; }
        sl_send_reply("404", "Not here");
        exit;
    }
    if (is_method("INVITE")) { record_route(); dlg_manage(); }
    $du = "sip:127.0.0.1:{UAS}";
    if (!t_relay()) { sl_reply_error(); }
}
"""

/// RFC 3261 §14: a re-INVITE inside an established call travels the route set like any
/// in-dialog request, and the call (and its dialog) survive it until the BYE.
@Suite("tm/rr: in-dialog re-INVITE and BYE through the proxy", .serialized,
       .enabled(if: which("sipp") != nil && which("kamcmd") != nil))
struct DaemonReinviteTests {
    let sipp = which("sipp") ?? "sipp"
    let scenarios = TestPaths.shared.appendingPathComponent("bench/scenarios")

    /// The bench caller with a re-INVITE (CSeq 2, no body) and its ACK before the BYE (CSeq 3).
    func callerScenario() throws -> String {
        let base = try String(contentsOf: scenarios.appendingPathComponent("uac_rr.xml"), encoding: .utf8)
        let dialogHeaders = """
              Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
              [routes]
              From: "bench" <sip:caller@[local_ip]:[local_port]>;tag=[pid]C[call_number]
              To: <sip:[service]@[remote_ip]:[remote_port]>[peer_tag_param]
              Call-ID: [call_id]
        """
        let reinvite = """
          <pause milliseconds="300"/>
          <send retrans="500">
            <![CDATA[
              INVITE [next_url] SIP/2.0
        \(dialogHeaders)
              CSeq: 2 INVITE
              Contact: <sip:caller@[local_ip]:[local_port]>
              Max-Forwards: 70
              Content-Length: 0
            ]]>
          </send>
          <recv response="100" optional="true"/>
          <recv response="200"/>
          <send>
            <![CDATA[
              ACK [next_url] SIP/2.0
        \(dialogHeaders)
              CSeq: 2 ACK
              Max-Forwards: 70
              Content-Length: 0
            ]]>
          </send>
          <pause milliseconds="300"/>

        """
        #expect(base.contains("  <pause/>\n") && base.contains("CSeq: 2 BYE"), "bench scenario changed")
        return base.replacingOccurrences(of: "  <pause/>\n", with: reinvite)
            .replacingOccurrences(of: "CSeq: 2 BYE", with: "CSeq: 3 BYE")
    }

    /// The bench callee, which also answers a re-INVITE and takes its ACK before the BYE.
    func calleeScenario() throws -> String {
        let base = try String(contentsOf: scenarios.appendingPathComponent("uas_rr.xml"), encoding: .utf8)
        let answer = """
          <recv request="INVITE"/>
          <send>
            <![CDATA[
              SIP/2.0 200 OK
              [last_Via:]
              [last_From:]
              [last_To:]
              [last_Call-ID:]
              [last_CSeq:]
              Contact: <sip:callee@[local_ip]:[local_port]>
              Content-Length: 0
            ]]>
          </send>
          <recv request="ACK"/>
          <recv request="BYE"/>
        """
        #expect(base.contains("  <recv request=\"BYE\"/>"), "bench scenario changed")
        return base.replacingOccurrences(of: "  <recv request=\"BYE\"/>", with: answer)
    }

    @Test("re-INVITE, its ACK and the BYE are loose-routed to the callee's Contact; the dialog lasts until the BYE")
    func reinviteThenBye() throws {
        try #require(inIsolatedNetwork(), "needs an isolated network namespace")
        let uasPort = freePort()
        let proxy = try DaemonProcess(config: reinviteConfig.replacingOccurrences(of: "{UAS}", with: String(uasPort)))
        defer { proxy.stop() }
        let uasXML = proxy.dir.appendingPathComponent("uas_reinvite.xml")
        let uacXML = proxy.dir.appendingPathComponent("uac_reinvite.xml")
        try calleeScenario().write(to: uasXML, atomically: true, encoding: .utf8)
        try callerScenario().write(to: uacXML, atomically: true, encoding: .utf8)
        let uas = try DialogSippProcess(sipp, ["-sf", uasXML.path, "-p", String(uasPort), "-i", "127.0.0.1", "-m", "1",
                                               "-trace_msg", "-message_file", proxy.dir.appendingPathComponent("uas.msg").path],
                                        log: proxy.dir.appendingPathComponent("uas.log"))
        defer { uas.stop() }
        #expect(waitForUDPListener(uasPort), "the sipp UAS did not start: \(uas.log)")
        let uac = try DialogSippProcess(sipp, ["-sf", uacXML.path, "127.0.0.1:\(proxy.port)", "-s", "bob", "-i", "127.0.0.1",
                                               "-p", String(freePort()), "-m", "1", "-timeout", "40"],
                                        log: proxy.dir.appendingPathComponent("uac.log"))
        defer { uac.stop() }
        #expect(uac.wait(60) == 0, "caller: \(uac.log.suffix(1500))\nproxy log:\n\(proxy.log.suffix(1500))")
        #expect(uas.wait(20) == 0, "callee: \(uas.log.suffix(1500))")

        // What the callee received, message by message.
        let received = uas.messages.components(separatedBy: "message received")
        let reinvite = try #require(received.first { $0.contains("CSeq: 2 INVITE") }, "no re-INVITE reached the callee:\n\(uas.messages)")
        // Loose routing: our Route entry is consumed, the Request-URI is the callee's Contact.
        #expect(reinvite.contains("INVITE sip:callee@127.0.0.1:\(uasPort) SIP/2.0"), "\(reinvite)")
        #expect(!reinvite.lowercased().contains("\nroute:"), "\(reinvite)")
        #expect(received.contains { $0.contains("CSeq: 2 ACK") }, "the re-INVITE's ACK did not reach the callee")
        #expect(received.contains { $0.contains("CSeq: 3 BYE") }, "the BYE did not reach the callee")

        // The dialog ended with the BYE, not with the re-INVITE.
        let kamcmd = which("kamcmd") ?? "kamcmd"
        var stats = ""
        for _ in 0..<50 {
            stats = try run(kamcmd, ["-s", "unix:" + proxy.dir.path + "/kamailio_ctl", "stats.get_statistics", "dialog:"], timeout: 20).output
            if stats.contains("dialog:processed_dialogs = 1") && stats.contains("dialog:active_dialogs = 0") { break }
            usleep(100_000)
        }
        #expect(stats.contains("dialog:processed_dialogs = 1"), "\(stats)")
        #expect(stats.contains("dialog:active_dialogs = 0"), "\(stats)")
        #expect(stats.contains("dialog:failed_dialogs = 0"), "\(stats)")
    }
}

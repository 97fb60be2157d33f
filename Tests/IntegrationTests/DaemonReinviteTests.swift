import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// A record-routing, dialog-tracking proxy; in-dialog requests are loose-routed.
private let reinviteConfig = proxyConfig(loading: ["tm", "sl", "rr", "dialog", "siputils", "textops", "ctl", "kex"], """
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
""")

/// RFC 3261 §14: a re-INVITE inside an established call travels the route set like any
/// in-dialog request, and the call (and its dialog) survive it until the BYE.
///
/// The test plays caller and callee itself (`PeerCall`) so that each request is sent only once
/// the proxy has relayed the one before: an ACK overtaken by the next request would reach
/// the callee out of order (a sipp callee fails the call on that).
@Suite("tm/rr: in-dialog re-INVITE and BYE through the proxy", .serialized,
       .enabled(if: which("kamcmd") != nil))
struct DaemonReinviteTests {
    @Test("re-INVITE, its ACK and the BYE are loose-routed to the callee's Contact; the dialog lasts until the BYE")
    func reinviteThenBye() throws {
        try #require(inIsolatedNetwork(), "needs an isolated network namespace")
        let uac = try UDPPeer(), uas = try UDPPeer()
        let proxy = try DaemonProcess(config: reinviteConfig, relayingTo: ["UAS": uas])
        defer { proxy.stop() }
        func dialogStats() throws -> String {
            try run(which("kamcmd") ?? "kamcmd", ["-s", "unix:" + proxy.dir.path + "/kamailio_ctl", "stats.get_statistics", "dialog:"],
                    timeout: 20).output
        }
        let call = try PeerCall(uac: uac, uas: uas, proxyPort: proxy.port, callID: "reinvite-\(proxy.port)")
        let callID = call.callID
        call.send("INVITE", cseq: 2)
        let reinvite = try #require(expect(uas, "INVITE", callID: callID, cseq: "2 INVITE"), "log:\n\(proxy.log)")
        // Loose routing: our Route entry is consumed, the Request-URI is the callee's Contact.
        #expect(reinvite.hasPrefix("INVITE sip:callee@127.0.0.1:\(uas.port) SIP/2.0\r\n"), "\(reinvite)")
        #expect(headerValue(reinvite, "Route") == nil, "\(reinvite)")
        uas.send(replyText(reinvite, 200, "OK", extra: [call.calleeContact]), to: "127.0.0.1", port: proxy.port)
        _ = try #require(expect(uac, "SIP/2.0 200", callID: callID, cseq: "2 INVITE"))
        call.send("ACK", cseq: 2)
        let ack = try #require(expect(uas, "ACK", callID: callID, cseq: "2 ACK"), "the re-INVITE's ACK did not reach the callee")
        #expect(headerValue(ack, "Route") == nil)
        // the call survived the re-INVITE
        let during = try dialogStats()
        #expect(during.contains("dialog:active_dialogs = 1"), "\(during)")

        call.send("BYE", cseq: 3)
        let bye = try #require(expect(uas, "BYE", callID: callID, cseq: "3 BYE"), "the BYE did not reach the callee")
        #expect(bye.hasPrefix("BYE sip:callee@127.0.0.1:\(uas.port) SIP/2.0\r\n"), "\(bye)")
        uas.send(replyText(bye, 200, "OK"), to: "127.0.0.1", port: proxy.port)
        _ = try #require(expect(uac, "SIP/2.0 200", callID: callID, cseq: "3 BYE"))

        // The dialog ended with the BYE, not with the re-INVITE.
        let stats = try pollText(dialogStats, until: { $0.contains("dialog:processed_dialogs = 1") && $0.contains("dialog:active_dialogs = 0") })
        #expect(stats.contains("dialog:processed_dialogs = 1"), "\(stats)")
        #expect(stats.contains("dialog:active_dialogs = 0"), "\(stats)")
        #expect(stats.contains("dialog:failed_dialogs = 0"), "\(stats)")
    }
}

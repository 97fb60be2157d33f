import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// failure_route reports what tm's pseudo-variables and tests say in headers of the
/// request it re-routes to `{UAS2}`; failure_reply_mode 0 keeps every branch in the choice.
private let scriptConfig = proxyConfig(loading: ["tm", "sl", "textops", "pv"], """
modparam("tm", "fr_timer", 600)
modparam("tm", "wait_timer", 500)
modparam("tm", "failure_reply_mode", 0)
request_route {
    if (is_method("OPTIONS")) { sl_send_reply("200", "OK"); exit; }
    if (is_method("ACK")) { t_relay(); exit; }
    if (is_present_hf("X-Fr")) { t_set_fr(10000, 3000); }
    if (is_present_hf("X-Reset")) { t_reset_fr(); }
    $du = "sip:127.0.0.1:{UAS}";
    t_on_failure("F");
    t_relay();
}
failure_route[F] {
    $var(rep) = "no";
    if (t_branch_replied()) { $var(rep) = "yes"; }
    $var(to) = "no";
    if (t_branch_timeout()) { $var(to) = "yes"; }
    if (is_present_hf("X-Drop")) { t_drop_replies(); }
    append_hf("X-Req: $T_req($hdr(X-Tag))\\r\\n");
    append_hf("X-Rpl: $T_rpl($hdr(X-UAS))\\r\\n");
    append_hf("X-Code: $T_reply_code $T_reply_reason $T(reply_code)\\r\\n");
    append_hf("X-T: $T(reply_type) $T(branch_index) $T(reply_last) $var(rep) $var(to)\\r\\n");
    $du = "sip:127.0.0.1:{UAS2}";
    t_relay();
}
""")

@Suite("tm: $T_req, $T_rpl, $T_reply_reason, $T(...), t_branch_*, t_drop_replies", .serialized)
struct DaemonTMScriptTests {
    let uac: UDPPeer
    let uas: UDPPeer
    let uas2: UDPPeer
    let daemon: DaemonProcess

    init() throws {
        (uac, uas, uas2, daemon) = try proxyBetweenPeers(scriptConfig)
    }

    func send(_ extra: [String], callID: String = UUID().uuidString) {
        uac.send(sipRequest("INVITE", uri: "sip:bob@127.0.0.1:\(daemon.port)", via: "UDP 127.0.0.1:\(uac.port)",
                            extra: ["Contact: <sip:alice@127.0.0.1:\(uac.port)>", "X-Tag: t42"] + extra, callID: callID),
                 to: "127.0.0.1", port: daemon.port)
    }

    /// The final reply of the call `callID` (earlier calls' retransmitted finals skipped).
    func finalReply(_ callID: String) -> Int? {
        let deadline = Date().addingTimeInterval(4)
        while Date() < deadline, let m = expect(uac, "SIP/2.0", timeout: max(0.05, deadline.timeIntervalSinceNow)) {
            if let c = statusCode(m), c >= 200, headerValue(m, "Call-ID") == callID { return c }
        }
        return nil
    }

    @Test("a 486 with a header: failure_route reads the request and the reply through $T_req/$T_rpl")
    func replyValues() throws {
        try #require(inIsolatedNetwork(), "needs an isolated network namespace")
        defer { daemon.stop() }
        send([])
        let inv = try #require(expect(uas, "INVITE"))
        uas.send(replyText(inv, 180, "Ringing"), to: "127.0.0.1", port: daemon.port)
        // Two workers read the socket: without waiting for the relayed 180 the 486 can be
        // handled first, and the branch then was not replied when failure_route ran.
        _ = try #require(expect(uac, "SIP/2.0 180"))
        uas.send(replyText(inv, 486, "Busy Here", extra: ["X-UAS: from-uas"]), to: "127.0.0.1", port: daemon.port)
        let rerouted = try #require(expect(uas2, "INVITE"))
        #expect(headerValue(rerouted, "X-Req") == "t42")
        #expect(headerValue(rerouted, "X-Rpl") == "from-uas")
        #expect(headerValue(rerouted, "X-Code") == "486 Busy Here 486")
        // $T(branch_index) in failure_route: the branch count (1), as Kamailio 5.6.3 prints it
        #expect(headerValue(rerouted, "X-T") == "0 1 486 yes no")
    }

    @Test("a 486 without a provisional before it: t_branch_replied false, as Kamailio 5.6.3")
    func finalOnlyNotReplied() throws {
        try #require(inIsolatedNetwork(), "needs an isolated network namespace")
        defer { daemon.stop() }
        send([])
        let inv = try #require(expect(uas, "INVITE"))
        uas.send(replyText(inv, 486, "Busy Here"), to: "127.0.0.1", port: daemon.port)
        let rerouted = try #require(expect(uas2, "INVITE"))
        #expect(headerValue(rerouted, "X-T") == "0 1 486 no no")
    }

    @Test("no answer: $T_reply_code 408 Request Timeout, a local reply, t_branch_timeout true")
    func timeoutValues() throws {
        try #require(inIsolatedNetwork(), "needs an isolated network namespace")
        defer { daemon.stop() }
        send([])
        _ = try #require(expect(uas, "INVITE"))
        let rerouted = try #require(expect(uas2, "INVITE", timeout: 5))
        #expect(headerValue(rerouted, "X-Code") == "408 Request Timeout 408")
        #expect(headerValue(rerouted, "X-T")?.hasPrefix("1 1 ") == true)
        #expect(headerValue(rerouted, "X-T")?.hasSuffix(" no yes") == true)
    }

    @Test("with failure_reply_mode 0 the first 486 beats a later 503, unless t_drop_replies() dropped it")
    func dropReplies() throws {
        try #require(inIsolatedNetwork(), "needs an isolated network namespace")
        defer { daemon.stop() }
        for (drop, want) in [(false, 486), (true, 503)] {
            let callID = UUID().uuidString
            send(drop ? ["X-Drop: 1"] : [], callID: callID)
            // by Call-ID: the first call's INVITEs may still be retransmitted on a loaded machine
            let inv = try #require(expect(uas, "INVITE", callID: callID))
            uas.send(replyText(inv, 486, "Busy Here"), to: "127.0.0.1", port: daemon.port)
            let second = try #require(expect(uas2, "INVITE", callID: callID))
            uas2.send(replyText(second, 503, "Unavailable", toTag: "u2"), to: "127.0.0.1", port: daemon.port)
            #expect(finalReply(callID) == want)
        }
    }

    @Test("t_set_fr(10000, 3000) holds a silent branch about 3 s instead of fr_timer's 600 ms; t_reset_fr() goes back")
    func setAndResetFr() throws {
        try #require(inIsolatedNetwork(), "needs an isolated network namespace")
        defer { daemon.stop() }
        /// The re-routed INVITE of call `id` at the second UAS within `timeout` (retransmissions of
        /// the other call skipped).
        func rerouted(_ id: String, within timeout: Double) -> Bool {
            let deadline = Date().addingTimeInterval(timeout)
            while Date() < deadline, let m = expect(uas2, "INVITE", timeout: max(0.05, deadline.timeIntervalSinceNow)) {
                if headerValue(m, "Call-ID") == id { return true }
            }
            return false
        }
        send(["X-Fr: 1"], callID: "fr-set")
        #expect(!rerouted("fr-set", within: 1.5))
        #expect(rerouted("fr-set", within: 5))
        send(["X-Fr: 1", "X-Reset: 1"], callID: "fr-reset")
        #expect(rerouted("fr-reset", within: 2.5))
    }
}

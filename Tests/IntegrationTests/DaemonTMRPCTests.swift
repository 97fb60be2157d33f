import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// A proxy that relays everything statefully to `{UAS}`, with ctl for kamcmd.
private let rpcConfig = proxyConfig(loading: ["tm", "sl", "ctl", "kex", "textops"], """
modparam("tm", "wait_timer", 500)
modparam("tm", "max_noninv_lifetime", 400)
request_route {
    if (is_method("OPTIONS")) { sl_send_reply("200", "OK"); exit; }
    if (is_method("CANCEL")) { if (t_check_trans()) { t_relay(); } exit; }
    if (is_method("ACK")) { t_relay(); exit; }
    if (is_present_hf("X-Hold")) { t_newtran(); exit; }
    $du = "sip:127.0.0.1:{UAS}";
    t_relay();
}
""")

@Suite("tm: RPC methods as Kamailio's (tm.list, tm.reply, tm.cancel, tm.reply_callid, tm.clean)", .serialized,
       .enabled(if: which("kamcmd") != nil))
struct DaemonTMRPCTests {
    let uac: UDPPeer
    let uas: UDPPeer
    let daemon: DaemonProcess

    init() throws {
        uac = try UDPPeer()
        uas = try UDPPeer()
        daemon = try DaemonProcess(config: rpcConfig, relayingTo: ["UAS": uas])
    }

    func kamcmd(_ args: String...) throws -> String {
        try run(which("kamcmd") ?? "kamcmd", ["-s", "unix:" + daemon.dir.path + "/kamailio_ctl"] + args, timeout: 20).output
    }

    /// Sends an INVITE and answers it downstream with 180; returns the request as the UAS got it.
    func ringingCall(_ callID: String, cseq: Int = 1) throws -> String {
        let inv = sipRequest("INVITE", uri: "sip:bob@127.0.0.1:\(daemon.port)", via: "UDP 127.0.0.1:\(uac.port)",
                             extra: ["Contact: <sip:alice@127.0.0.1:\(uac.port)>"], callID: callID, cseq: cseq)
        uac.send(inv, to: "127.0.0.1", port: daemon.port)
        let got = try #require(expect(uas, "INVITE"))
        uas.send(replyText(got, 180, "Ringing"), to: "127.0.0.1", port: daemon.port)
        _ = try #require(expect(uac, "SIP/2.0 180"))
        return got
    }

    @Test("tm.list shows a ringing INVITE as Kamailio does; tm.reply answers it by index:label with tag, headers and body")
    func listAndReply() throws {
        try #require(inIsolatedNetwork(), "needs an isolated network namespace")
        defer { daemon.stop() }
        _ = try ringingCall("rpc-list-1", cseq: 7)
        let list = try kamcmd("tm.list")
        for want in ["method: INVITE", "from: From: <sip:alice@example.com>;tag=", "to: To: <sip:bob@example.com>",
                     "callid: Call-ID: rpc-list-1", "cseq: CSeq: 7", "uas_request: yes", "tflags: 65",
                     "outgoings: 1", "ref_count: 1", "cell: 0x", "lifetime: "] {
            #expect(list.contains(want), "\(want) in \(list)")
        }
        func field(_ name: String) -> String? {
            list.components(separatedBy: "\n").first { $0.contains("\(name): ") }?.components(separatedBy: ": ").last
        }
        let tid = try #require(field("tindex")) + ":" + (try #require(field("tlabel")))
        #expect(try kamcmd("tm.reply", "486", "Busy Here", "1:2", "tag", ".").contains("481 - No such transaction"))
        #expect(try kamcmd("tm.reply", "486", "Busy Here", "x:2", "tag", ".").contains("400 - Invalid transaction ID"))
        #expect(try kamcmd("tm.reply", "486", "Busy Here").contains("400 - Transaction ID expected"))
        #expect(try kamcmd("tm.reply", "486").contains("400 - Reason phrase expected"))
        #expect(try kamcmd("tm.reply", "486", "Busy Here", tid).contains("400 - To tag expected"))
        let out = try kamcmd("tm.reply", "486", "Busy Here", tid, "rpctag", "X-RPC: yes\r\nContent-Type: text/plain\r\n", "hello")
        #expect(!out.contains("error"), "\(out)")
        let reply = try #require(expect(uac, "SIP/2.0 486"))
        #expect(headerValue(reply, "To")?.hasSuffix(";tag=rpctag") == true, "\(reply)")
        #expect(headerValue(reply, "X-RPC") == "yes" && reply.hasSuffix("\r\n\r\nhello"), "\(reply)")
        // the pending branch is canceled, as Kamailio's tm.reply does
        #expect(expect(uas, "CANCEL") != nil)
        #expect(try kamcmd("tm.reply", "486", "Busy Here", tid, "rpctag", ".", "").contains("500 - Reply failed"))
    }

    @Test("tm.cancel sends CANCEL downstream by Call-ID and CSeq number; tm.reply_callid answers by Call-ID")
    func cancelAndReplyByCallID() throws {
        try #require(inIsolatedNetwork(), "needs an isolated network namespace")
        defer { daemon.stop() }
        let forwarded = try ringingCall("rpc-cancel-1", cseq: 10)
        #expect(try kamcmd("tm.cancel", "rpc-cancel-1").contains("400 - Callid and CSeq expected as parameters"))
        #expect(try kamcmd("tm.cancel", "rpc-cancel-1", "10 INVITE").contains("400 - Transaction not found"))
        let out = try kamcmd("tm.cancel", "rpc-cancel-1", "s:10")
        #expect(out.contains("branches remaining (waiting for timeout)"), "\(out)")
        let cancel = try #require(expect(uas, "CANCEL"))
        uas.send(replyText(cancel, 200, "OK"), to: "127.0.0.1", port: daemon.port)
        uas.send(replyText(forwarded, 487, "Request Terminated"), to: "127.0.0.1", port: daemon.port)
        #expect(expect(uac, "SIP/2.0 487") != nil)

        _ = try ringingCall("rpc-callid-1", cseq: 3)
        #expect(try kamcmd("tm.reply_callid", "603", "Decline", "nosuch", "s:3", "t", ".").contains("404 - Transaction not found"))
        #expect(try kamcmd("tm.reply_callid", "603", "Decline", "rpc-callid-1").contains("400 - CSeq expected"))
        _ = try kamcmd("tm.reply_callid", "603", "Decline", "rpc-callid-1", "s:3", "cidtag", ".", "")
        let reply = try #require(expect(uac, "SIP/2.0 603"))
        #expect(headerValue(reply, "To")?.hasSuffix(";tag=cidtag") == true)
    }

    @Test("tm.stats counts replies and frees; tm.hash_stats is the packaged build's fault; tm.clean drops expired transactions")
    func statsHashAndClean() throws {
        try #require(inIsolatedNetwork(), "needs an isolated network namespace")
        defer { daemon.stop() }
        #expect(try kamcmd("tm.hash_stats").contains("500 - Hash statistics not supported (tryrecompiling with -DTM_HASH_STATS)"))
        // a MESSAGE nobody answers: its 400 ms lifetime caps fr_timer, 408 upstream
        let msg = sipRequest("MESSAGE", uri: "sip:bob@127.0.0.1:\(daemon.port)", via: "UDP 127.0.0.1:\(uac.port)")
        uac.send(msg, to: "127.0.0.1", port: daemon.port)
        #expect(expect(uas, "MESSAGE") != nil)
        #expect(expect(uac, "SIP/2.0 408", timeout: 3) != nil)
        let deadline = Date().addingTimeInterval(5)
        while Date() < deadline, !(try kamcmd("tm.stats")).contains("current: 0") { usleep(100_000) }
        // a transaction that nothing ends (t_newtran, no reply): tm.clean drops it once its lifetime is over
        let held = sipRequest("MESSAGE", uri: "sip:bob@127.0.0.1:\(daemon.port)", via: "UDP 127.0.0.1:\(uac.port)",
                              extra: ["X-Hold: 1"])
        uac.send(held, to: "127.0.0.1", port: daemon.port)
        // listed once a worker has handled it; then its 400 ms lifetime has to run out, and
        // it stays listed until tm.clean
        #expect(try pollText({ try kamcmd("tm.list") }, until: { $0.contains("method: MESSAGE") }).contains("method: MESSAGE"))
        usleep(500_000)
        #expect(try kamcmd("tm.list").contains("method: MESSAGE"))
        _ = try kamcmd("tm.clean")
        #expect(!(try kamcmd("tm.list")).contains("method: MESSAGE"))
        let stats = try kamcmd("tm.stats")
        for want in ["current: 0", "total: 2", "rpl_generated: 1", "rpl_sent: 1", "4xx: 1", "created: 2", "freed: 2",
                     "delayed_free: 0", "waiting: 0", "total_local: 0"] {
            #expect(stats.contains(want), "\(want) in \(stats)")
        }
        let tmx = try kamcmd("stats.get_statistics", "tmx:")
        #expect(tmx.contains("tmx:UAS_transactions = 2") && tmx.contains("tmx:4xx_transactions = 1"), "\(tmx)")
    }
}

import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// TCP disabled; X-Mode picks what follows a t_relay() that cannot send. The replies and
/// return codes expected below are what Kamailio 5.6.3 gives for the same script.
private let relayErrorConfig = proxyConfig(loading: ["tm", "sl", "textops", "xlog"], core: ["disable_tcp=yes"], """
request_route {
    if (is_method("OPTIONS")) { sl_send_reply("200", "OK"); exit; }
    if (is_method("ACK")) { t_relay(); exit; }
    $du = "sip:127.0.0.1:9;transport=tcp";
    if ($hdr(X-Mode) == "unresolvable") { $du = "sip:nonexistent.invalid:9"; }
    t_relay();
    xlog("L_ERR", "$ci rc=$rc\\n");
    if ($hdr(X-Mode) == "treply") { t_reply("503", "custom"); }
    if ($hdr(X-Mode) == "slerror") { sl_reply_error(); }
}
""")

@Suite("tm: t_relay() that cannot send returns Kamailio's error and the transaction is answered after the script", .serialized)
struct DaemonTMRelayErrorTests {
    /// Every first line the UAC gets for an INVITE in `mode` (100 and finals, with
    /// retransmissions until `settle` seconds pass without a new one), and the $rc logged.
    func exchange(_ mode: String, daemon: DaemonProcess) throws -> (lines: [String], rc: String?) {
        let uac = try UDPPeer()
        let callID = "relay-err-\(mode)-\(daemon.port)"
        uac.send(sipRequest("INVITE", uri: "sip:bob@127.0.0.1:\(daemon.port)", via: "UDP 127.0.0.1:\(uac.port)",
                            extra: ["X-Mode: \(mode)"], callID: callID), to: "127.0.0.1", port: daemon.port)
        var lines: [String] = []
        // the first final, then whatever follows within a second (a second final would)
        while let m = uac.receive(timeout: lines.contains(where: { !$0.hasPrefix("SIP/2.0 100") }) ? 1 : 10) {
            let first = m.components(separatedBy: "\r\n")[0]
            if lines.last != first { lines.append(first) }  // retransmissions count once
        }
        var rc: String?
        for _ in 0..<50 where rc == nil {
            rc = daemon.log.components(separatedBy: "\n").first { $0.contains("\(callID) rc=") }?
                .components(separatedBy: "rc=").last
            if rc == nil { usleep(100_000) }
        }
        return (lines, rc)
    }

    @Test("no socket for the transport: -7, then 500 (7/TM); unresolvable: -478, 478 (478/TM); t_reply wins; sl_reply_error answers (1/SL) and tm still answers")
    func relayErrors() throws {
        try #require(inIsolatedNetwork(), "needs an isolated network namespace")
        let daemon = try DaemonProcess(config: relayErrorConfig)
        defer { daemon.stop() }
        let trying = "SIP/2.0 100 trying -- your call is important to us"
        let noSocket = "SIP/2.0 500 I'm terribly sorry, server error occurred (7/TM)"
        let none = try exchange("none", daemon: daemon)
        #expect(none.lines == [trying, noSocket], "\(daemon.log)")
        #expect(none.rc == "-7")
        let unresolvable = try exchange("unresolvable", daemon: daemon)
        #expect(unresolvable.lines == [trying, "SIP/2.0 478 Unresolvable destination (478/TM)"])
        #expect(unresolvable.rc == "-478")
        let treply = try exchange("treply", daemon: daemon)
        #expect(treply.lines == [trying, "SIP/2.0 503 custom"])
        let slerror = try exchange("slerror", daemon: daemon)
        #expect(slerror.lines == [trying, "SIP/2.0 500 I'm terribly sorry, server error occurred (1/SL)", noSocket])
    }
}

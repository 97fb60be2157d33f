import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// Registrar + tm: an INVITE forks to every contact of the AoR; onreply_route and
/// failure_route log the usrloc ruid of the branch they are about.
private let ruidConfig = proxyConfig(loading: ["tm", "tmx", "sl", "textops", "usrloc", "registrar", "xlog", "ctl"], """
modparam("usrloc", "db_mode", 0)
request_route {
    if (is_method("OPTIONS")) { sl_send_reply("200", "OK"); exit; }
    if (is_method("REGISTER")) { save("location"); exit; }
    if (is_method("ACK")) { t_relay(); exit; }
    if (!lookup("location")) { sl_send_reply("404", "Not Found"); exit; }
    t_on_failure("F");
    t_on_reply("R");
    t_relay();
}
onreply_route[R] {
    xlog("L_ERR", "reply $rs ruid=[$T_reply_ruid]\\n");
}
failure_route[F] {
    xlog("L_ERR", "failure $T_reply_code ruid=[$T_reply_ruid] T(ruid)=[$T(ruid)] label=[$T(id_label)]\\n");
}
""")

/// Contact address -> ruid, from `ul.dump` as kamcmd prints it.
private func ruids(_ dump: String) -> [String: String] {
    var out: [String: String] = [:]
    for block in dump.components(separatedBy: "Contact: {").dropFirst() {
        let lines = block.components(separatedBy: "\n").map { $0.trimmingCharacters(in: .whitespaces) }
        guard let addr = lines.first(where: { $0.hasPrefix("Address: ") })?.dropFirst(9),
              let ruid = lines.first(where: { $0.hasPrefix("Ruid: ") })?.dropFirst(6) else { continue }
        out[String(addr)] = String(ruid)
    }
    return out
}

@Suite("tm: the usrloc ruid of each branch ($T_reply_ruid), $T(ruid) as Kamailio 5.6.3 reads it", .serialized,
       .enabled(if: inIsolatedNetwork() && which("kamcmd") != nil, "needs an isolated network namespace and kamcmd"))
struct DaemonTMRuidTests {
    @Test("two contacts, parallel fork, 404 and 603: onreply_route sees each branch's ruid, failure_route the 603 one's")
    func replyRuid() throws {
        let uac = try UDPPeer(), uasA = try UDPPeer(), uasB = try UDPPeer()
        let daemon = try DaemonProcess(config: ruidConfig)
        defer { daemon.stop() }
        let a = "sip:bob@127.0.0.1:\(uasA.port)", b = "sip:bob@127.0.0.1:\(uasB.port)"
        uac.send(registerRequest("bob", peer: uac, cseq: 1, contacts: ["<\(a)>;q=0.5", "<\(b)>;q=0.4"]), to: "127.0.0.1", port: daemon.port)
        #expect(statusCode(uac.receive(timeout: 5)) == 200)
        let ids = ruids(try DaemonControlTests.kamcmd(daemon, ["ul.dump"]))
        let ruidA = try #require(ids[a]), ruidB = try #require(ids[b])
        #expect(ruidA != ruidB)

        uac.send(sipRequest("INVITE", uri: "sip:bob@127.0.0.1:\(daemon.port)", via: "UDP 127.0.0.1:\(uac.port)",
                            extra: ["Contact: <sip:alice@127.0.0.1:\(uac.port)>"]), to: "127.0.0.1", port: daemon.port)
        for (peer, code) in [(uasA, 404), (uasB, 603)] {
            let inv = try #require(expect(peer, "INVITE", timeout: 5), "no INVITE; log:\n\(daemon.log)")
            peer.send(replyText(inv, code, "No"), to: "127.0.0.1", port: daemon.port)
        }
        #expect(statusCode(expect(uac, "SIP/2.0 6", timeout: 5)) == 603)
        var log = ""
        for _ in 0..<100 where !log.contains("failure ") {
            usleep(50_000)
            log = daemon.log
        }
        #expect(log.contains("reply 404 ruid=[\(ruidA)]"), "\(log)")
        #expect(log.contains("reply 603 ruid=[\(ruidB)]"), "\(log)")
        #expect(log.contains("failure 603 ruid=[\(ruidB)]"), "\(log)")
        // Kamailio 5.6.3 reads $T(ruid) as the transaction label (no ruid behind that key).
        let failure = try #require(log.components(separatedBy: "\n").first { $0.contains("failure 603") })
        let label = failure.components(separatedBy: "label=[").last?.components(separatedBy: "]").first
        #expect(label != nil && label != "<null>" && failure.contains("T(ruid)=[\(label ?? "-")]"), "\(failure)")
    }
}

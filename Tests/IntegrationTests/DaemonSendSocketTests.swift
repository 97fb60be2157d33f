import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// Two sockets, 127.0.0.1:{PORT} and 127.0.0.2:5060 (all of 127/8 is on `lo`, also in an
/// isolated namespace). Requests come in on the first; X-Mode says how the second is
/// chosen for sending. The same script (with `fork=no`, `children=1` and pv/xlog loaded)
/// was run under Kamailio 5.6.3 to capture `kamailioCapture`.
private let socketConfig = proxyConfig(loading: ["tm", "sl", "rr", "textops", "usrloc", "registrar"], core: ["listen=udp:127.0.0.2:5060"], """
modparam("usrloc", "db_mode", 0)
request_route {
    if (is_method("OPTIONS")) { sl_send_reply("200", "OK"); exit; }
    if (is_method("REGISTER")) { save("location"); exit; }
    if (is_method("ACK")) { t_relay(); exit; }
    if ($hdr(X-Mode) == "fsops") {
        $fs = "udp:127.0.0.2:5060";
        $var(a) = $fs;
        $fs = "udp:127.0.0.9:5060";
        $var(b) = $fs;
        $var(d) = set_send_socket("udp:127.0.0.9:5060");
        $var(e) = set_send_socket("");
        $var(f) = $fs;
        $fs = $null;
        sl_send_reply("200", "a=$var(a) b=$var(b) d=$var(d) e=$var(e) f=$var(f) null=$fs");
        exit;
    }
    record_route();
    if ($hdr(X-Mode) == "lookup") {
        lookup("location");
        append_hf("X-FS: $fs\\r\\n");
        t_relay();
        exit;
    }
    if ($hdr(X-Mode) == "forward") {
        force_send_socket(udp:127.0.0.2);
        forward("127.0.0.1", {UAS});
        exit;
    }
    if ($hdr(X-Mode) == "fs") {
        $fs = "udp:127.0.0.2:5060";
        append_hf("X-FS: $fs\\r\\n");
    } else if ($hdr(X-Mode) == "branch") {
        t_on_branch("B");
    } else if ($hdr(X-Mode) != "none") {
        force_send_socket(udp:127.0.0.2:5060);
    }
    t_on_failure("F");
    $du = "sip:127.0.0.1:{UAS}";
    t_relay();
}
branch_route[B] {
    force_send_socket(udp:127.0.0.2:5060);
}
failure_route[F] {
    if (t_is_canceled()) exit;
    if ($hdr(X-Mode) == "back") { force_send_socket(udp:127.0.0.1:{PORT}); }
    $du = "sip:127.0.0.1:{UAS2}";
    t_relay();
}
""")

/// What Kamailio 5.6.3 sent to the UAS for each mode with the script above (its first
/// socket on 127.0.0.1:5080, written here as {PORT}): the source of the INVITE, its
/// Record-Route lines and the start of its top Via. Kamailio leaves out port 5060.
private let kamailioCapture: [String: (source: String, recordRoutes: [String], via: String)] = [
    "tm": ("127.0.0.2:5060", ["Record-Route: <sip:127.0.0.2;r2=on;lr;ftag=fs1>",
                              "Record-Route: <sip:127.0.0.1:{PORT};r2=on;lr;ftag=fs1>"], "Via: SIP/2.0/UDP 127.0.0.2;branch=z9hG4bK"),
    "fs": ("127.0.0.2:5060", ["Record-Route: <sip:127.0.0.2;r2=on;lr;ftag=fs1>",
                              "Record-Route: <sip:127.0.0.1:{PORT};r2=on;lr;ftag=fs1>"], "Via: SIP/2.0/UDP 127.0.0.2;branch=z9hG4bK"),
    "branch": ("127.0.0.2:5060", ["Record-Route: <sip:127.0.0.2;r2=on;lr;ftag=fs1>",
                                  "Record-Route: <sip:127.0.0.1:{PORT};r2=on;lr;ftag=fs1>"], "Via: SIP/2.0/UDP 127.0.0.2;branch=z9hG4bK"),
    "forward": ("127.0.0.2:5060", ["Record-Route: <sip:127.0.0.2;r2=on;lr;ftag=fs1>",
                                   "Record-Route: <sip:127.0.0.1:{PORT};r2=on;lr;ftag=fs1>"], "Via: SIP/2.0/UDP 127.0.0.2;branch=z9hG4bK"),
    "none": ("127.0.0.1:{PORT}", ["Record-Route: <sip:127.0.0.1:{PORT};lr;ftag=fs1>"], "Via: SIP/2.0/UDP 127.0.0.1:{PORT};branch=z9hG4bK"),
    "back": ("127.0.0.2:5060", ["Record-Route: <sip:127.0.0.2;r2=on;lr;ftag=fs1>",
                                "Record-Route: <sip:127.0.0.1:{PORT};r2=on;lr;ftag=fs1>"], "Via: SIP/2.0/UDP 127.0.0.2;branch=z9hG4bK"),
]

/// The branch failure_route started, in the same capture: Kamailio decides its
/// Record-Routes again for the socket it leaves on ("back" forces the receiving one there).
private let kamailioFailureBranch: [String: (source: String, recordRoutes: [String])] = [
    "tm": ("127.0.0.2:5060", ["Record-Route: <sip:127.0.0.2;r2=on;lr;ftag=fs1>", "Record-Route: <sip:127.0.0.1:{PORT};r2=on;lr;ftag=fs1>"]),
    "fs": ("127.0.0.2:5060", ["Record-Route: <sip:127.0.0.2;r2=on;lr;ftag=fs1>", "Record-Route: <sip:127.0.0.1:{PORT};r2=on;lr;ftag=fs1>"]),
    "branch": ("127.0.0.2:5060", ["Record-Route: <sip:127.0.0.2;r2=on;lr;ftag=fs1>", "Record-Route: <sip:127.0.0.1:{PORT};r2=on;lr;ftag=fs1>"]),
    "none": ("127.0.0.1:{PORT}", ["Record-Route: <sip:127.0.0.1:{PORT};lr;ftag=fs1>"]),
    "back": ("127.0.0.1:{PORT}", ["Record-Route: <sip:127.0.0.1:{PORT};lr;ftag=fs1>"]),
]

/// Kamailio 5.6.3 after `lookup` for an AoR with one contact registered through each
/// socket: `$fs` is the first contact's socket, and each branch leaves on its contact's.
private let kamailioLookupCapture = (
    fs: "udp:127.0.0.1:{PORT}",
    first: (source: "127.0.0.1:{PORT}", recordRoutes: ["Record-Route: <sip:127.0.0.1:{PORT};lr;ftag=fs1>"]),
    second: (source: "127.0.0.2:5060", recordRoutes: ["Record-Route: <sip:127.0.0.2;r2=on;lr;ftag=fs1>",
                                                      "Record-Route: <sip:127.0.0.1:{PORT};r2=on;lr;ftag=fs1>"]))

/// The next datagram on `peer` within `timeout` seconds that starts with `prefix`, with
/// the `ip:port` it came from.
private func receiveFrom(_ peer: UDPPeer, _ prefix: String, timeout: Double = 5) -> (text: String, source: String)? {
    let deadline = Date().addingTimeInterval(timeout)
    while Date() < deadline {
        var p = pollfd(fd: peer.fd, events: Int16(POLLIN), revents: 0)
        guard poll(&p, 1, 200) == 1 else { continue }
        var buf = [UInt8](repeating: 0, count: 65536)
        var sin = sockaddr_in()
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        let n = withUnsafeMutablePointer(to: &sin) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { recvfrom(peer.fd, &buf, buf.count, 0, $0, &len) }
        }
        guard n > 0 else { continue }
        let text = String(decoding: buf[0..<n], as: UTF8.self)
        guard text.hasPrefix(prefix) else { continue }
        var addr = sin.sin_addr
        var ip = [CChar](repeating: 0, count: 16)
        inet_ntop(AF_INET, &addr, &ip, 16)
        return (text, "\(String(decoding: ip.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)):\(UInt16(bigEndian: sin.sin_port))")
    }
    return nil
}

/// A final reply to `request`, sent back to `to` (`ip:port`).
private func answer(_ request: String, code: Int, from peer: UDPPeer, to source: String) {
    let parts = source.split(separator: ":")
    peer.send(replyText(request, code, "Nope"), to: String(parts[0]), port: UInt16(parts[1]) ?? 0)
}

@Suite("core: force_send_socket, $fs and the double Record-Route they cause", .serialized)
struct DaemonSendSocketTests {
    /// The peers (UAC, first and second UAS) and the daemon running `socketConfig`.
    func start() throws -> (UDPPeer, UDPPeer, UDPPeer, DaemonProcess) {
        try proxyBetweenPeers(socketConfig)
    }

    /// An INVITE for `mode` (From tag fs1, as in the capture), with two headers above its Via.
    func invite(_ mode: String, uac: UDPPeer, port: UInt16) -> String {
        ["INVITE sip:bob@127.0.0.1 SIP/2.0", "Max-Forwards: 70", "X-Mode: \(mode)",
         "Via: SIP/2.0/UDP 127.0.0.1:\(uac.port);branch=z9hG4bK\(mode)-\(port)",
         "From: <sip:alice@example.com>;tag=fs1", "To: <sip:bob@example.com>", "Call-ID: fs-\(mode)-\(port)",
         "CSeq: 1 INVITE", "Contact: <sip:alice@127.0.0.1:\(uac.port)>", "Content-Length: 0", "", ""].joined(separator: "\r\n")
    }

    /// The names of the first `n` header lines.
    func headerNames(_ text: String, _ n: Int) -> [String] {
        text.components(separatedBy: "\r\n").dropFirst().prefix(n).map { String($0.prefix { $0 != ":" }) }
    }

    @Test("each way of forcing the socket sends from 127.0.0.2:5060 with Kamailio's Record-Route and Via bytes; failure_route branches keep the socket and get their own Record-Routes",
          arguments: ["tm", "fs", "branch", "forward", "none", "back"])
    func forcedSocket(mode: String) throws {
        try #require(inIsolatedNetwork(), "needs an isolated network namespace")
        let (uac, uas, uas2, daemon) = try start()
        defer { daemon.stop() }
        let p = String(daemon.port)
        let want = try #require(kamailioCapture[mode])
        uac.send(invite(mode, uac: uac, port: daemon.port), to: "127.0.0.1", port: daemon.port)
        let got = try #require(receiveFrom(uas, "INVITE"), "no INVITE; log:\n\(daemon.log)")
        #expect(got.source == want.source.replacingOccurrences(of: "{PORT}", with: p))
        let lines = got.text.components(separatedBy: "\r\n")
        #expect(lines.filter { $0.hasPrefix("Record-Route:") } == want.recordRoutes.map { $0.replacingOccurrences(of: "{PORT}", with: p) })
        #expect(lines.first { $0.hasPrefix("Via:") }?.hasPrefix(want.via.replacingOccurrences(of: "{PORT}", with: p)) == true, "\(got.text)")
        if mode == "fs" { #expect(headerValue(got.text, "X-FS") == "udp:127.0.0.2:5060") }
        // Kamailio: our Record-Routes on top, our Via right above the received one
        let rr = Array(repeating: "Record-Route", count: want.recordRoutes.count)
        #expect(headerNames(got.text, rr.count + 4) == rr + ["Max-Forwards", "X-Mode", "Via", "Via"])
        guard mode != "forward" else { return }
        // The first branch fails; the one failure_route starts leaves on the same socket.
        answer(got.text, code: 404, from: uas, to: got.source)
        let second = try #require(receiveFrom(uas2, "INVITE"), "no failure_route branch; log:\n\(daemon.log)")
        let again = try #require(kamailioFailureBranch[mode])
        #expect(second.source == again.source.replacingOccurrences(of: "{PORT}", with: p))
        #expect(second.text.components(separatedBy: "\r\n").filter { $0.hasPrefix("Record-Route:") }
                == again.recordRoutes.map { $0.replacingOccurrences(of: "{PORT}", with: p) })
        let rr2 = Array(repeating: "Record-Route", count: again.recordRoutes.count)
        #expect(headerNames(second.text, rr2.count + 4) == rr2 + ["Max-Forwards", "X-Mode", "Via", "Via"])
        answer(second.text, code: 404, from: uas2, to: second.source)
        let final = try #require(receiveFrom(uac, "SIP/2.0 404"))
        // Replies upstream go out on the socket the request came in on, whatever was forced.
        #expect(final.source == "127.0.0.1:\(p)")
    }

    @Test("lookup: every branch leaves on the socket its contact registered through, with that branch's Record-Routes")
    func lookupSockets() throws {
        try #require(inIsolatedNetwork(), "needs an isolated network namespace")
        let (uac, uas, uas2, daemon) = try start()
        defer { daemon.stop() }
        let p = String(daemon.port)
        uas.send(registerRequest("bob", peer: uas, cseq: 1, contacts: ["<sip:bob@127.0.0.1:\(uas.port)>;q=0.5"]),
                 to: "127.0.0.1", port: daemon.port)
        #expect(statusCode(uas.receive(timeout: 5)) == 200)
        uas2.send(registerRequest("bob", peer: uas2, cseq: 1, contacts: ["<sip:bob@127.0.0.1:\(uas2.port)>;q=0.4"]),
                  to: "127.0.0.2", port: 5060)
        #expect(statusCode(uas2.receive(timeout: 5)) == 200)
        uac.send(invite("lookup", uac: uac, port: daemon.port).replacingOccurrences(of: "sip:bob@127.0.0.1 ", with: "sip:bob@sip.test "),
                 to: "127.0.0.1", port: daemon.port)
        let want = kamailioLookupCapture
        for (peer, w) in [(uas, want.first), (uas2, want.second)] {
            let got = try #require(receiveFrom(peer, "INVITE"), "no INVITE; log:\n\(daemon.log)")
            #expect(got.source == w.source.replacingOccurrences(of: "{PORT}", with: p))
            #expect(got.text.components(separatedBy: "\r\n").filter { $0.hasPrefix("Record-Route:") }
                    == w.recordRoutes.map { $0.replacingOccurrences(of: "{PORT}", with: p) })
            #expect(headerValue(got.text, "X-FS") == want.fs.replacingOccurrences(of: "{PORT}", with: p))
        }
    }

    @Test("$fs and set_send_socket with a socket we lack change nothing (set_send_socket is still true, as corex's); empty text is false; $null clears")
    func fsAssignments() throws {
        try #require(inIsolatedNetwork(), "needs an isolated network namespace")
        let (uac, _, _, daemon) = try start()
        defer { daemon.stop() }
        uac.send(invite("fsops", uac: uac, port: daemon.port), to: "127.0.0.1", port: daemon.port)
        let reply = try #require(expect(uac, "SIP/2.0 200", timeout: 5))
        #expect(reply.hasPrefix("SIP/2.0 200 a=udp:127.0.0.2:5060 b=udp:127.0.0.2:5060 d=1 e=-1 f=udp:127.0.0.2:5060 null=<null>\r\n"),
                "\(reply)")
        #expect(daemon.log.contains("no socket found to match [udp:127.0.0.9:5060]"))
    }

    @Test("a socket the daemon does not listen on is refused at start-up with file:line")
    func unknownSocket() throws {
        try #require(inIsolatedNetwork(), "needs an isolated network namespace")
        let cfg = socketConfig.replacingOccurrences(of: "force_send_socket(udp:127.0.0.2:5060);\n    }\n    t_on_failure",
                                                    with: "force_send_socket(udp:127.0.0.3:5060);\n    }\n    t_on_failure")
        #expect(cfg != socketConfig)
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("fs-bad-\(getpid())-\(UUID().uuidString.prefix(6))")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let file = dir.appendingPathComponent("bad.cfg")
        try cfg.replacingOccurrences(of: "{PORT}", with: String(freePort())).replacingOccurrences(of: "{UAS2}", with: "6002")
            .replacingOccurrences(of: "{UAS}", with: "6000").write(to: file, atomically: true, encoding: .utf8)
        let r = try run(TestPaths.daemon.path, ["-c", "-f", file.path])
        #expect(r.status != 0)
        let line = cfg.components(separatedBy: "\n").firstIndex { $0.contains("127.0.0.3") }.map { $0 + 1 } ?? -1
        #expect(r.output.contains("bad.cfg:\(line)"), "\(r.output)")
        #expect(r.output.contains("bad force_send_socket argument: 127.0.0.3:5060 (kamailiod doesn't listen on it)"), "\(r.output)")
    }
}

import Foundation
import Testing

/// The daemon on its embedded default configuration, over UDP and TCP, IPv4 and IPv6.
@Suite("Embedded default configuration", .serialized)
struct DaemonDefaultConfigTests {
    @Test("OPTIONS over UDP gets 200 with a To-tag, our Server header and received/rport on the Via")
    func optionsUDP() throws {
        let d = try DaemonProcess()
        defer { d.stop() }
        let peer = try UDPPeer()
        peer.send(sipRequest("OPTIONS", uri: "sip:127.0.0.1:\(d.port)", via: "UDP 192.0.2.9:5099;rport"),
                  to: "127.0.0.1", port: d.port)
        let reply = peer.receive()
        #expect(statusCode(reply) == 200)
        #expect(headerValue(reply, "To")?.contains(";tag=") == true)
        #expect(headerValue(reply, "Server")?.hasPrefix("kamailiod") == true)
        let via = headerValue(reply, "Via") ?? ""
        #expect(via.contains("received=127.0.0.1"))
        #expect(via.contains("rport=\(peer.port)"))
        #expect(headerValue(reply, "Content-Length") == "0")
    }

    @Test("registrations on the embedded default are kept in SQLite under -w: a restart loses none")
    func defaultKeepsRegistrations() throws {
        try #require(inIsolatedNetwork(), "needs an isolated network namespace")
        let state = URL(fileURLWithPath: NSTemporaryDirectory()).appendingPathComponent("kamailiod-state-\(UUID().uuidString.prefix(8))")
        defer { try? FileManager.default.removeItem(at: state) }
        let port = freePort()
        func register(_ d: DaemonProcess, contact: String?) throws -> String? {
            let peer = try UDPPeer()
            var extra = ["Expires: 600"]
            if let contact { extra.append("Contact: <\(contact)>") }
            peer.send(sipRequest("REGISTER", uri: "sip:127.0.0.1:\(port)", via: "UDP 127.0.0.1:\(peer.port)", extra: extra),
                      to: "127.0.0.1", port: port)
            return peer.receive(timeout: 5)
        }
        do {
            let d = try DaemonProcess(extraArgs: ["-w", state.path], port: port)
            defer { d.stop() }
            let ok = try register(d, contact: "sip:bob@127.0.0.1:7777")
            #expect(statusCode(ok) == 200, "\(ok ?? "no reply")\n\(d.log)")
        }
        #expect(FileManager.default.fileExists(atPath: state.appendingPathComponent("kamailiod.sqlite").path))
        let again = try DaemonProcess(extraArgs: ["-w", state.path], port: port)
        defer { again.stop() }
        // A REGISTER without Contact asks for the current bindings (RFC 3261 10.2.3).
        let fetched = try register(again, contact: nil)
        #expect(statusCode(fetched) == 200)
        #expect(headerValue(fetched, "Contact")?.contains("sip:bob@127.0.0.1:7777") == true, "\(fetched ?? "no reply")\n\(again.log)")
    }

    @Test("the same request over TCP, IPv4 and IPv6, is answered on the same connection")
    func optionsTCPAndIPv6() throws {
        let port = freePort()
        let d = try DaemonProcess(extraArgs: ["-l", "udp:127.0.0.1:\(port)", "-l", "tcp:127.0.0.1:\(port)",
                                              "-l", "udp:[::1]:\(port)", "-l", "tcp:[::1]:\(port)"], port: port)
        defer { d.stop() }
        for ip in ["127.0.0.1", "::1"] {
            let host = ip.contains(":") ? "[\(ip)]" : ip
            let tcp = tcpExchange(Array(sipRequest("OPTIONS", uri: "sip:\(host):\(port)", via: "TCP \(host):5099").utf8),
                                  ip: ip, port: port)
            #expect(statusCode(tcp) == 200, "TCP \(ip): \(tcp ?? "no reply")")
            let peer = try UDPPeer(ip: ip)
            peer.send(sipRequest("OPTIONS", uri: "sip:\(host):\(port)", via: "UDP \(host):\(peer.port)"), to: ip, port: port)
            #expect(statusCode(peer.receive()) == 200, "UDP \(ip)")
        }
    }

    @Test("Max-Forwards 0 gets 483; INVITE gets 404 and its ACK is absorbed; CANCEL and in-dialog requests get 481")
    func statelessAnswers() throws {
        let d = try DaemonProcess()
        defer { d.stop() }
        let peer = try UDPPeer()
        let via = "UDP 127.0.0.1:\(peer.port)"
        func ask(_ text: String, timeout: Double = 5) -> String? {
            peer.send(text, to: "127.0.0.1", port: d.port)
            return peer.receive(timeout: timeout)
        }
        #expect(statusCode(ask(sipRequest("OPTIONS", uri: "sip:x@127.0.0.1", via: via, maxForwards: 0))) == 483)
        let invite = sipRequest("INVITE", uri: "sip:nobody@127.0.0.1", via: via, callID: "inv-1")
        let notFound = ask(invite)
        #expect(statusCode(notFound) == 404)
        // The ACK for a non-2xx carries the INVITE's branch and the reply's To-tag (§17.1.1.3).
        let branchLine = invite.components(separatedBy: "\r\n")[1]
        let to = headerValue(notFound, "To") ?? ""
        let from = headerValue(invite, "From") ?? ""
        let ack = ["ACK sip:nobody@127.0.0.1 SIP/2.0", branchLine, "From: \(from)", "To: \(to)",
                   "Call-ID: inv-1", "CSeq: 1 ACK", "Max-Forwards: 70", "Content-Length: 0", "", ""].joined(separator: "\r\n")
        #expect(ask(ack, timeout: 1) == nil)  // a late answer would show as the CANCEL's below
        #expect(statusCode(ask(sipRequest("CANCEL", uri: "sip:nobody@127.0.0.1", via: via))) == 481)
        let bye = sipRequest("BYE", uri: "sip:nobody@127.0.0.1", via: via)
            .replacingOccurrences(of: "To: <sip:bob@example.com>", with: "To: <sip:bob@example.com>;tag=abc")
        #expect(statusCode(ask(bye)) == 481)
        #expect(statusCode(ask(sipRequest("FOO", uri: "sip:nobody@127.0.0.1", via: via))) == 501)
    }

    @Test("malformed requests get 400 with a reason, garbage gets nothing, and the daemon keeps answering")
    func badInput() throws {
        let d = try DaemonProcess()
        defer { d.stop() }
        let peer = try UDPPeer()
        let via = "UDP 127.0.0.1:\(peer.port)"
        let noCallID = sipRequest("OPTIONS", uri: "sip:x@127.0.0.1", via: via)
            .components(separatedBy: "\r\n").filter { !$0.hasPrefix("Call-ID") }.joined(separator: "\r\n")
        peer.send(noCallID, to: "127.0.0.1", port: d.port)
        let r = peer.receive()
        #expect(statusCode(r) == 400)
        #expect(r?.lowercased().contains("call-id") == true, "reason names the header: \(r ?? "")")
        peer.send([UInt8](repeating: 0, count: 512), to: "127.0.0.1", port: d.port)
        peer.send(Array((0..<3000).map { UInt8(truncatingIfNeeded: $0 &* 7919) }), to: "127.0.0.1", port: d.port)
        #expect(peer.receive(timeout: 0.5) == nil)
        peer.send(sipRequest("OPTIONS", uri: "sip:x@127.0.0.1", via: via), to: "127.0.0.1", port: d.port)
        #expect(statusCode(peer.receive()) == 200)
    }

    @Test("SIGTERM stops the daemon cleanly and removes its pid file")
    func cleanStop() throws {
        let d = try DaemonProcess()
        let pidFile = d.dir.appendingPathComponent("pid").path
        let pidText = try String(contentsOfFile: pidFile, encoding: .utf8)
        #expect(Int32(pidText.trimmingCharacters(in: .whitespacesAndNewlines)) == d.pid)
        #expect(d.stop() == 0)
        #expect(!FileManager.default.fileExists(atPath: pidFile))
        #expect(d.log.contains("shutting down"))
    }
}

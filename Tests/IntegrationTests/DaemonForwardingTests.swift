import Foundation
import Testing
import TestSupport

/// Stateless proxying: requests forwarded with a new Via, replies relayed back by Via.
@Suite("Stateless forwarding", .serialized)
struct DaemonForwardingTests {
    static func proxyConfig(uasPort: UInt16) -> String {
        """
        listen=udp:127.0.0.1:{PORT}
        listen=tcp:127.0.0.1:{PORT}
        children=2
        loadmodule "sl.so"
        loadmodule "maxfwd.so"
        loadmodule "textops.so"
        loadmodule "siputils.so"
        loadmodule "rr.so"
        request_route {
            if (!mf_process_maxfwd_header("10")) { sl_send_reply("483", "Too Many Hops"); exit; }
            if (has_totag() && loose_route()) { forward(); exit; }
            if (is_method("INVITE")) { record_route(); }
            append_hf("X-Proxied: $rm from $si\\r\\n");
            $du = "sip:127.0.0.1:\(uasPort)";
            forward();
            exit;
        }
        """
    }

    @Test("a request is forwarded with our Via on top, received on the client's, Max-Forwards decremented, and the reply comes back without our Via")
    func forwardAndRelay() throws {
        let uas = try UDPPeer()
        let d = try DaemonProcess(config: Self.proxyConfig(uasPort: uas.port), waitForUDP: false)
        defer { d.stop() }
        let uac = try UDPPeer()
        // wait until the proxy forwards something
        var forwarded: String?
        for _ in 0..<50 where forwarded == nil {
            uac.send(sipRequest("INVITE", uri: "sip:bob@example.com", via: "UDP 192.0.2.10:5060;rport", callID: "fwd-1"),
                     to: "127.0.0.1", port: d.port)
            forwarded = uas.receive(timeout: 0.2)
        }
        let req = try #require(forwarded, "log: \(d.log)")
        let lines = req.components(separatedBy: "\r\n")
        #expect(lines[0] == "INVITE sip:bob@example.com SIP/2.0")
        let vias = lines.filter { $0.hasPrefix("Via:") }
        #expect(vias.count == 2)
        #expect(vias[0].hasPrefix("Via: SIP/2.0/UDP 127.0.0.1:\(d.port);branch=z9hG4bK"))
        #expect(vias[1].contains("received=127.0.0.1") && vias[1].contains("rport=\(uac.port)"))
        #expect(headerValue(req, "Max-Forwards") == "69")
        #expect(headerValue(req, "X-Proxied") == "INVITE from 127.0.0.1")
        #expect(headerValue(req, "Record-Route")?.hasPrefix("<sip:127.0.0.1:\(d.port);lr") == true)

        // The callee answers to the top Via; the proxy strips it and sends to the client.
        let reply = ["SIP/2.0 180 Ringing"] + vias + lines.filter {
            $0.hasPrefix("From:") || $0.hasPrefix("To:") || $0.hasPrefix("Call-ID:") || $0.hasPrefix("CSeq:")
        } + ["Content-Length: 0", "", ""]
        uas.send(reply.joined(separator: "\r\n"), to: "127.0.0.1", port: d.port)
        let relayed = try #require(uac.receive(), "log: \(d.log)")
        #expect(statusCode(relayed) == 180)
        let relayedVias = relayed.components(separatedBy: "\r\n").filter { $0.hasPrefix("Via:") }
        #expect(relayedVias.count == 1)
        #expect(relayedVias.first?.contains("192.0.2.10") == true)
    }

    @Test("a retransmitted request gets the same branch; a different request a different one")
    func statelessBranch() throws {
        let uas = try UDPPeer()
        let d = try DaemonProcess(config: Self.proxyConfig(uasPort: uas.port), waitForUDP: false)
        defer { d.stop() }
        let uac = try UDPPeer()
        let a = sipRequest("MESSAGE", uri: "sip:bob@example.com", via: "UDP 127.0.0.1:\(uac.port)", callID: "b-1")
        var got: [String] = []
        for (text, callID) in [(a, "b-1"), (a, "b-1"), (sipRequest("MESSAGE", uri: "sip:bob@example.com", via: "UDP 127.0.0.1:\(uac.port)", callID: "b-2"), "b-2")] {
            // Sent again every 0.2 s until forwarded: on a slow start several copies of b-1
            // can still arrive later, so match by Call-ID.
            for _ in 0..<50 {
                uac.send(text, to: "127.0.0.1", port: d.port)
                if let r = expect(uas, "MESSAGE", timeout: 0.2, callID: callID) { got.append(r); break }
            }
        }
        try #require(got.count == 3, "log: \(d.log)")
        let branches = got.map { r in r.components(separatedBy: "\r\n").first { $0.hasPrefix("Via:") } ?? "" }
        #expect(branches[0] == branches[1])
        #expect(branches[0] != branches[2])
    }

    @Test("a reply whose top Via is not ours is dropped")
    func strayReplyDropped() throws {
        let uas = try UDPPeer()
        let d = try DaemonProcess(config: Self.proxyConfig(uasPort: uas.port), waitForUDP: false)
        defer { d.stop() }
        let peer = try UDPPeer()
        let stray = ["SIP/2.0 200 OK", "Via: SIP/2.0/UDP 127.0.0.2:5070;branch=z9hG4bKx",
                     "Via: SIP/2.0/UDP 127.0.0.1:\(peer.port);branch=z9hG4bKy", "From: <sip:a@b>;tag=1", "To: <sip:c@d>;tag=2",
                     "Call-ID: stray", "CSeq: 1 INVITE", "Content-Length: 0", "", ""].joined(separator: "\r\n")
        // the workers run once a request gets through (the start-up OPTIONS probe would be forwarded)
        let ready = sipRequest("MESSAGE", uri: "sip:bob@example.com", via: "UDP 127.0.0.1:\(peer.port)", callID: "ready")
        #expect(eventually { () -> Bool? in
            peer.send(ready, to: "127.0.0.1", port: d.port)
            return expect(uas, "MESSAGE", timeout: 0.2, callID: "ready") != nil ? true : nil
        } == true)
        peer.send(stray, to: "127.0.0.1", port: d.port)
        #expect(peer.receive(timeout: 0.5) == nil)
    }
}

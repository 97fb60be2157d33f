import Foundation
import Testing

/// A call through a record-routing proxy between two test peers, set up step by step: each
/// message is sent only once the proxy has relayed the one before. Two workers read the
/// proxy's UDP socket, so two messages sent back to back may be handled in either order
/// (an ACK overtaken by the next in-dialog request, say); a test that waits does not race.
struct PeerCall {
    let uac: UDPPeer
    let uas: UDPPeer
    let proxyPort: UInt16
    let callID: String
    /// The Record-Route the proxy put in, which the caller sends back as Route.
    let route: String
    /// The caller's From line, tag included.
    let fromLine: String

    /// INVITE, 200 with the callee's Contact (`sip:callee@`), ACK; returns once the ACK
    /// reached the callee.
    init(uac: UDPPeer, uas: UDPPeer, proxyPort: UInt16, callID: String) throws {
        self.uac = uac
        self.uas = uas
        self.proxyPort = proxyPort
        self.callID = callID
        let invite = sipRequest("INVITE", uri: "sip:bob@127.0.0.1:\(proxyPort)", via: "UDP 127.0.0.1:\(uac.port)",
                                extra: ["Contact: <sip:caller@127.0.0.1:\(uac.port)>"], callID: callID)
        uac.send(invite, to: "127.0.0.1", port: proxyPort)
        let forwarded = try #require(expect(uas, "INVITE", callID: callID), "the INVITE was not relayed")
        route = try #require(headerValue(forwarded, "Record-Route"), "no Record-Route: \(forwarded)")
        fromLine = try #require(invite.components(separatedBy: "\r\n").first { $0.hasPrefix("From:") })
        uas.send(replyText(forwarded, 200, "OK", toTag: "callee1", extra: [calleeContact]), to: "127.0.0.1", port: proxyPort)
        let ok = try #require(expect(uac, "SIP/2.0 200", callID: callID), "the 200 was not relayed")
        #expect(headerValue(ok, "Record-Route") == route)
        uac.send(request("ACK", cseq: 1), to: "127.0.0.1", port: proxyPort)
        _ = try #require(expect(uas, "ACK", callID: callID, cseq: "1 ACK"), "the ACK was not relayed")
    }

    /// The callee's Contact header line.
    var calleeContact: String { "Contact: <sip:callee@127.0.0.1:\(uas.port)>" }

    /// The caller's in-dialog request: to the callee's Contact, through the route set.
    func request(_ method: String, cseq: Int) -> String {
        ["\(method) sip:callee@127.0.0.1:\(uas.port) SIP/2.0",
         "Via: SIP/2.0/UDP 127.0.0.1:\(uac.port);branch=z9hG4bK\(UUID().uuidString.prefix(10))",
         "Route: \(route)", fromLine, "To: <sip:bob@example.com>;tag=callee1", "Call-ID: \(callID)",
         "CSeq: \(cseq) \(method)", "Contact: <sip:caller@127.0.0.1:\(uac.port)>", "Max-Forwards: 70",
         "Content-Length: 0", "", ""].joined(separator: "\r\n")
    }

    /// Sends the caller's in-dialog request to the proxy.
    func send(_ method: String, cseq: Int) {
        uac.send(request(method, cseq: cseq), to: "127.0.0.1", port: proxyPort)
    }
}

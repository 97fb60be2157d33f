import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// A proxy on IPv4 and IPv6: initial requests are record-routed (with `;foo=1`) and go to
/// `{UAS}` over IPv4, or to `{UAS6}` over IPv6 when they carry X-V6; in-dialog requests
/// are loose-routed and report what check_route_param and is_direction say.
private let rrConfig = proxyConfig(loading: ["tm", "sl", "rr", "textops", "siputils"], core: ["listen=udp:[::1]:{PORT}"], """
request_route {
    if (is_method("OPTIONS")) { sl_send_reply("200", "OK"); exit; }
    if (has_totag()) {
        if (loose_route()) {
            if (check_route_param("foo=1")) { append_hf("X-Param: yes\\r\\n"); }
            if (is_direction("upstream")) { append_hf("X-Dir: up\\r\\n"); }
            t_relay();
            exit;
        }
        sl_send_reply("404", "Not here");
        exit;
    }
    if (is_present_hf("X-V6")) { $du = "sip:[::1]:{UAS6}"; } else { $du = "sip:127.0.0.1:{UAS}"; }
    add_rr_param(";foo=1");
    record_route();
    t_relay();
}
""")

/// An in-dialog BYE with one Route header field.
private func bye(_ uri: String, via: String, route: String, fromTag: String, toTag: String, callID: String) -> String {
    ["BYE \(uri) SIP/2.0", "Via: SIP/2.0/UDP \(via);branch=z9hG4bK\(callID)", "Route: \(route)",
     "From: <sip:x@example.com>;tag=\(fromTag)", "To: <sip:y@example.com>;tag=\(toTag)", "Call-ID: \(callID)",
     "CSeq: 2 BYE", "Max-Forwards: 70", "Content-Length: 0"].joined(separator: "\r\n") + "\r\n\r\n"
}

/// Every Record-Route line of a message, in order.
private func recordRoutes(_ m: String) -> [String] {
    m.components(separatedBy: "\r\n").filter { $0.hasPrefix("Record-Route:") }
}

@Suite("rr: double Record-Route, r2 loose routing, strict routers", .serialized)
struct DaemonRRTests {
    let uac: UDPPeer
    let uas: UDPPeer
    let uas6: UDPPeer
    let daemon: DaemonProcess

    init() throws {
        uac = try UDPPeer()
        uas = try UDPPeer()
        uas6 = try UDPPeer(ip: "::1")
        daemon = try DaemonProcess(config: rrConfig, relayingTo: ["UAS": uas, "UAS6": uas6])
    }

    func invite(_ extra: [String]) -> String {
        sipRequest("INVITE", uri: "sip:bob@127.0.0.1:\(daemon.port)", via: "UDP 127.0.0.1:\(uac.port)",
                   extra: ["Contact: <sip:alice@127.0.0.1:\(uac.port)>"] + extra)
    }

    @Test("leaving on another socket (IPv4 in, IPv6 out) gives two Record-Routes with r2=on, the outgoing one on top; the same socket one")
    func doubleRecordRoute() throws {
        try #require(inIsolatedNetwork(), "needs an isolated network namespace")
        defer { daemon.stop() }
        let p = daemon.port
        uac.send(invite(["X-V6: 1"]), to: "127.0.0.1", port: p)
        let got6 = try #require(expect(uas6, "INVITE"))
        let tag = try #require(headerValue(got6, "From")?.components(separatedBy: "tag=").last)
        #expect(recordRoutes(got6) == ["Record-Route: <sip:[::1]:\(p);r2=on;lr;ftag=\(tag);foo=1>",
                                       "Record-Route: <sip:127.0.0.1:\(p);r2=on;lr;ftag=\(tag);foo=1>"])
        uac.send(invite([]), to: "127.0.0.1", port: p)
        let got4 = try #require(expect(uas, "INVITE"))
        let tag4 = try #require(headerValue(got4, "From")?.components(separatedBy: "tag=").last)
        #expect(recordRoutes(got4) == ["Record-Route: <sip:127.0.0.1:\(p);lr;ftag=\(tag4);foo=1>"])
    }

    @Test("a BYE from the callee over IPv6 with both r2 Routes: both removed, sent on over IPv4, direction upstream")
    func looseRouteDouble() throws {
        try #require(inIsolatedNetwork(), "needs an isolated network namespace")
        defer { daemon.stop() }
        let p = daemon.port
        let msg = bye("sip:alice@127.0.0.1:\(uac.port)", via: "[::1]:\(uas6.port)",
                      route: "<sip:[::1]:\(p);r2=on;lr;ftag=caller1;foo=1>, <sip:127.0.0.1:\(p);r2=on;lr;ftag=caller1;foo=1>",
                      fromTag: "callee1", toTag: "caller1", callID: "rr-double-1")
        uas6.send(msg, to: "::1", port: p)
        let got = try #require(expect(uac, "BYE"))
        #expect(headerValue(got, "Route") == nil, "\(got)")
        #expect(headerValue(got, "X-Param") == "yes")
        #expect(headerValue(got, "X-Dir") == "up")
        #expect(got.hasPrefix("BYE sip:alice@127.0.0.1:\(uac.port) SIP/2.0\r\n"))
    }

    @Test("after a strict router (our URI as Request-URI) the last Route becomes the Request-URI and is removed")
    func strictRouter() throws {
        try #require(inIsolatedNetwork(), "needs an isolated network namespace")
        defer { daemon.stop() }
        let p = daemon.port
        let msg = bye("sip:127.0.0.1:\(p);lr;ftag=caller2;foo=1", via: "127.0.0.1:\(uac.port)",
                      route: "<sip:bob@127.0.0.1:\(uas.port)>", fromTag: "caller2", toTag: "callee2", callID: "rr-strict-1")
        uac.send(msg, to: "127.0.0.1", port: p)
        let got = try #require(expect(uas, "BYE"))
        #expect(got.hasPrefix("BYE sip:bob@127.0.0.1:\(uas.port) SIP/2.0\r\n"), "\(got)")
        #expect(headerValue(got, "Route") == nil)
        #expect(headerValue(got, "X-Param") == "yes")
        #expect(headerValue(got, "X-Dir") == nil)
    }
}

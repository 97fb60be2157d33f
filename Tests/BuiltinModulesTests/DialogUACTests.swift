import SIPCore
import SIPTransport
import ScriptEngine
import Synchronization
import Testing
@testable import BuiltinModules

/// Collects what a local transaction sends and the final status it reports.
private final class UACProbe: Sendable {
    let sent = Mutex<[[UInt8]]>([])
    let finals = Mutex<[Int]>([])
    let clock = Atomic<UInt64>(0)

    func uac() -> TMUAC {
        TMUAC(runtime: CoreRuntime(log: { _, _, _ in }, logEnabled: { _ in false }), now: { [self] in clock.load(ordering: .relaxed) },
              send: { [self] b, _ in sent.withLock { $0.append(b) }; return true }, autoStart: false)
    }
}

@Suite("tm local requests (TMUAC)")
struct TMUACTests {
    let dest = Destination(proto: .udp, address: SocketAddress(ip: "127.0.0.1", port: 5070)!)

    func request(routes: [String]) -> TMLocalRequest {
        TMLocalRequest(method: "BYE", remoteTarget: Array("sip:bob@10.0.0.9:5080".utf8), routeSet: routes.map { Array($0.utf8) },
                       from: Array("<sip:alice@a>;tag=a1".utf8), to: Array("<sip:bob@b>;tag=b1".utf8),
                       callID: Array("cid-1".utf8), cseq: 7)
    }

    @Test("with a loose router first the remote target is the Request-URI and the route set goes in Route (RFC 3261 §12.2.1.1)")
    func looseLayout() {
        let (ruri, routes, hop) = request(routes: ["sip:p1@10.0.0.1;lr", "sip:p2@10.0.0.2;lr"]).layout()
        #expect(String(decoding: ruri, as: UTF8.self) == "sip:bob@10.0.0.9:5080")
        #expect(routes.map { String(decoding: $0, as: UTF8.self) } == ["sip:p1@10.0.0.1;lr", "sip:p2@10.0.0.2;lr"])
        #expect(String(decoding: hop, as: UTF8.self) == "sip:p1@10.0.0.1;lr")
    }

    @Test("with a strict router first it becomes the Request-URI and the remote target the last Route")
    func strictLayout() {
        let (ruri, routes, _) = request(routes: ["sip:p1@10.0.0.1", "sip:p2@10.0.0.2;lr"]).layout()
        #expect(String(decoding: ruri, as: UTF8.self) == "sip:p1@10.0.0.1")
        #expect(routes.map { String(decoding: $0, as: UTF8.self) } == ["sip:p2@10.0.0.2;lr", "sip:bob@10.0.0.9:5080"])
        let (direct, none, hop) = request(routes: []).layout()
        #expect(direct == hop && none.isEmpty)
    }

    @Test("the request carries our Via with the transaction id, Route, From/To/Call-ID/CSeq, and parses")
    func buildText() throws {
        let r = request(routes: ["sip:p1@10.0.0.1;lr"])
        let (ruri, routes, _) = r.layout()
        let bytes = TMUAC.build(r, requestURI: ruri, routes: routes, via: Array("SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bKuac1f.".utf8),
                                id: 0x2a, userAgent: nil)
        let text = String(decoding: bytes, as: UTF8.self)
        #expect(text.hasPrefix("BYE sip:bob@10.0.0.9:5080 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bKuac1f.2a\r\n"))
        #expect(text.contains("\r\nRoute: <sip:p1@10.0.0.1;lr>\r\n") && text.contains("\r\nCSeq: 7 BYE\r\n"))
        let msg = try SIPMessage(bytes: bytes)
        #expect(msg.method == .bye && msg.callID.map { Array($0) } == Array("cid-1".utf8))
        #expect(TMUAC.transactionID(try #require(try msg.topVia()?.branch)) == 0x2a)
        #expect(TMUAC.transactionID(Array("z9hG4bKtm1.0".utf8)[...]) == nil)
    }

    func reply(_ code: Int, id: UInt64) throws -> SIPMessage {
        try SIPMessage(bytes: Array(("SIP/2.0 \(code) OK\r\nVia: SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bKuac99.\(String(id, radix: 16))\r\n"
            + "From: <sip:alice@a>;tag=a1\r\nTo: <sip:bob@b>;tag=b1\r\nCall-ID: cid-1\r\nCSeq: 7 BYE\r\nContent-Length: 0\r\n\r\n").utf8))
    }

    @Test("Timer E retransmits (T1, doubling) until the 200, which is reported once; Timer K then frees the transaction")
    func retransmitsUntilAnswered() throws {
        let probe = UACProbe()
        let uac = probe.uac()
        uac.start(id: 5, bytes: Array("BYE".utf8), to: dest, method: "BYE") { code in probe.finals.withLock { $0.append(code) } }
        #expect(probe.sent.withLock { $0.count } == 1)
        uac.timers.fireDue(now: 500)
        uac.timers.fireDue(now: 1500)
        #expect(probe.sent.withLock { $0.count } == 3)  // at T1 and 2*T1 later
        probe.clock.store(1600, ordering: .relaxed)
        #expect(uac.handleReply(try reply(200, id: 5)))
        #expect(uac.handleReply(try reply(200, id: 5)))  // a retransmitted final is absorbed
        uac.timers.fireDue(now: 3500)
        #expect(probe.sent.withLock { $0.count } == 3 && probe.finals.withLock { $0 } == [200])
        #expect(uac.pending == 1)
        uac.timers.fireDue(now: 1600 + 5000)  // Timer K = T4
        #expect(uac.pending == 0)
        #expect(!uac.handleReply(try SIPMessage(bytes: Array("SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP h;branch=z9hG4bKtm1.0\r\nContent-Length: 0\r\n\r\n".utf8))))
    }

    @Test("no answer: Timer F reports 408 and frees the transaction")
    func timesOut() {
        let probe = UACProbe()
        let uac = probe.uac()
        uac.start(id: 6, bytes: Array("BYE".utf8), to: dest, method: "BYE") { code in probe.finals.withLock { $0.append(code) } }
        for t in stride(from: UInt64(500), through: 40000, by: 500) { uac.timers.fireDue(now: t) }
        #expect(probe.finals.withLock { $0 } == [408])
        #expect(uac.pending == 0)
        // T2 caps the interval: about 11 sends in 30 s, not 6
        #expect(probe.sent.withLock { $0.count } >= 10)
    }
}

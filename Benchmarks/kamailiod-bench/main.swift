// Release-mode micro-benchmark of the SIP message core: parse, read the headers a
// proxy touches on every message, apply a couple of edits and serialize; then the
// script cases of BenchScript.swift (ref.cfg's request_route on a REGISTER and an INVITE).
//   swift run -c release kamailiod-bench [iterations]
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import SIPCore

func wire(_ text: String) -> [UInt8] { SIPBytes.wireFormat(text) }

let sdp = """
v=0
o=alice 2890844526 2890844526 IN IP4 pc33.atlanta.example.com
s=Session SDP
c=IN IP4 192.0.2.101
t=0 0
m=audio 49172 RTP/AVP 0 8 101
a=rtpmap:0 PCMU/8000
a=rtpmap:8 PCMA/8000
a=rtpmap:101 telephone-event/8000

"""
let sdpBytes = wire(sdp)

let invite = wire("""
INVITE sip:bob@biloxi.example.com SIP/2.0
Via: SIP/2.0/UDP pc33.atlanta.example.com:5060;branch=z9hG4bK776asdhds;rport
Max-Forwards: 70
To: Bob <sip:bob@biloxi.example.com>
From: "Alice Liddell" <sip:alice@atlanta.example.com>;tag=1928301774
Call-ID: a84b4c76e66710@pc33.atlanta.example.com
CSeq: 314159 INVITE
Contact: <sip:alice@pc33.atlanta.example.com;transport=udp>
Allow: INVITE, ACK, CANCEL, OPTIONS, BYE, REFER, NOTIFY
Supported: replaces, timer
User-Agent: bench-ua/1.0
Content-Type: application/sdp
Content-Length: \(sdpBytes.count)


""") + sdpBytes

let register = wire("""
REGISTER sip:registrar.biloxi.example.com SIP/2.0
Via: SIP/2.0/UDP bobspc.biloxi.example.com:5060;branch=z9hG4bKnashds7;rport
Max-Forwards: 70
To: Bob <sip:bob@biloxi.example.com>
From: Bob <sip:bob@biloxi.example.com>;tag=456248
Call-ID: 843817637684230@998sdasdh09
CSeq: 1826 REGISTER
Contact: <sip:bob@192.0.2.4:5060>;expires=7200;q=0.8
Expires: 7200
User-Agent: bench-ua/1.0
Content-Length: 0


""")

let ok = wire("""
SIP/2.0 200 OK
Via: SIP/2.0/UDP proxy.example.com:5060;branch=z9hG4bK2d4790.1
Via: SIP/2.0/UDP pc33.atlanta.example.com:5060;branch=z9hG4bK776asdhds;received=192.0.2.1;rport=5060
Record-Route: <sip:proxy.example.com;lr>
To: Bob <sip:bob@biloxi.example.com>;tag=a6c85cf
From: "Alice Liddell" <sip:alice@atlanta.example.com>;tag=1928301774
Call-ID: a84b4c76e66710@pc33.atlanta.example.com
CSeq: 314159 INVITE
Contact: <sip:bob@192.0.2.4>
Content-Type: application/sdp
Content-Length: \(sdpBytes.count)


""") + sdpBytes

func now() -> UInt64 {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
}

/// One operation: parse, validate, read common headers, edit, serialize. Returns a
/// value derived from the output so the optimizer cannot drop the work.
@inline(never)
func work(_ bytes: [UInt8]) -> Int {
    do {
        let m = try SIPMessage(bytes: bytes)
        try m.validateForProcessing()
        var acc = m.callID?.count ?? 0
        acc &+= Int(try m.cseq()?.number ?? 0)
        acc &+= try m.topVia()?.branch?.count ?? 0
        acc &+= try m.from()?.tag?.count ?? 0
        acc &+= try m.to()?.uri.host?.text.count ?? 0
        acc &+= try m.maxForwards() ?? 0
        if m.isRequest {
            acc &+= try m.requestURI.host?.text.count ?? 0
            m.insertTopVia(Array("SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bKbench.0".utf8))
            m.addHeader(Array("Record-Route: <sip:10.0.0.1;lr>".utf8))
            if let mf = m.firstHeader(.maxForwards) { m.replaceValue(of: mf, with: [54, 57]) }
        } else if let top = try m.topVia() {
            try m.removeVia(top)
        }
        return acc &+ m.serialize().count
    } catch {
        return -1
    }
}

/// Parse only: start line, header index, and the values a stateless router reads
/// first (Call-ID, CSeq, top Via).
@inline(never)
func parseOnly(_ bytes: [UInt8]) -> Int {
    do {
        let m = try SIPMessage(bytes: bytes)
        return m.headers.count &+ (m.callID?.count ?? 0) &+ Int(try m.cseq()?.number ?? 0)
            &+ (try m.topVia()?.branch?.count ?? 0)
    } catch {
        return -1
    }
}

func measure(_ name: String, _ bytes: [UInt8], iterations: Int, _ op: ([UInt8]) -> Int) -> Int {
    guard op(bytes) > 0 else {
        print("\(name): message failed to parse")
        return 0
    }
    var sink = 0
    for _ in 0..<(iterations / 10) { sink &+= op(bytes) }  // warm-up
    let start = now()
    for _ in 0..<iterations { sink &+= op(bytes) }
    let ns = Double(now() - start) / Double(iterations)
    print("  \(name) (\(bytes.count) bytes): \(Int(ns.rounded())) ns/op, \(Int((1e9 / ns).rounded())) ops/s")
    return sink
}

let iterations = CommandLine.arguments.count > 1 ? Int(CommandLine.arguments[1]) ?? 200_000 : 200_000
let cases = [("INVITE+SDP", invite), ("REGISTER", register), ("200 OK", ok)]
var sink = 0
print("kamailiod-bench, \(iterations) iterations per case")
print("full: parse + validate + header access + edits + serialize")
for (name, bytes) in cases { sink &+= measure(name, bytes, iterations: iterations, work) }
print("parse only: start line + header index + Call-ID, CSeq, top Via")
for (name, bytes) in cases { sink &+= measure(name, bytes, iterations: iterations, parseOnly) }
sink &+= BenchScript.run(iterations: iterations / 4)
if sink == 42 { print("") }

import Testing
@testable import SIPCore

@Suite("Reply builder and response routing")
struct SIPReplyBuilderTests {
    /// An OPTIONS request whose Via lines are `vias` (each ending in a newline).
    func options(vias: String) throws -> SIPMessage {
        try message("OPTIONS sip:a@b SIP/2.0\n\(vias)From: <sip:a@b>;tag=1\nTo: <sip:c@d>\nCall-ID: x\nCSeq: 1 OPTIONS\n\n")
    }

    /// A 200 OK builder for a request from `address`:`port`.
    func ok(from address: String, port: UInt16) -> SIPReplyBuilder {
        var b = SIPReplyBuilder(statusCode: 200, reason: "OK")
        b.sourceAddress = Array(address.utf8)
        b.sourcePort = port
        return b
    }

    @Test("a reply copies Vias, From, Call-ID, CSeq exactly and adds a To tag")
    func copies() throws {
        let req = try message(sampleInvite)
        var b = SIPReplyBuilder(statusCode: 404, reason: "Not Found")
        b.toTag = Array("abc".utf8)
        b.server = Array("kamailiod".utf8)
        b.extraHeaders = [Array("X-Reason: test".utf8)]
        let out = str(b.build(for: req))
        #expect(out == """
            SIP/2.0 404 Not Found\r
            Via: SIP/2.0/UDP pc33.atlanta.example.com:5062;branch=z9hG4bK776asdhds;rport\r
            From: "Alice Liddell" <sip:alice@atlanta.example.com>;tag=1928301774\r
            To: Bob <sip:bob@biloxi.example.com>;tag=abc\r
            Call-ID: a84b4c76e66710@pc33.atlanta.example.com\r
            CSeq: 314159 INVITE\r
            X-Reason: test\r
            Server: kamailiod\r
            Content-Length: 0\r
            \r

            """)
        let parsed = try SIPMessage(bytes: b.build(for: req))
        try parsed.validateForProcessing()
        #expect(parsed.statusCode == 404)
    }

    @Test("received and rport are filled in from the source address (RFC 3581)")
    func receivedRport() throws {
        let req = try message(sampleInvite)
        let b = ok(from: "192.0.2.9", port: 6000)
        let reply = try SIPMessage(bytes: b.build(for: req))
        let via = try #require(try reply.topVia())
        #expect(via.received.map(str) == "192.0.2.9")
        #expect(via.rport == .value(6000))
        #expect(str(reply.bytes[via.range]) == "SIP/2.0/UDP pc33.atlanta.example.com:5062;branch=z9hG4bK776asdhds;rport=6000;received=192.0.2.9")
    }

    @Test("no received when the sent-by is the source IP and rport was not asked; forceRport adds both")
    func noReceived() throws {
        let req = try options(vias: "Via: SIP/2.0/UDP 192.0.2.9:5060;branch=z9hG4bK1\nVia: SIP/2.0/UDP other;branch=z9hG4bK0\n")
        var b = ok(from: "192.0.2.9", port: 5060)
        let plain = try SIPMessage(bytes: b.build(for: req))
        #expect(try plain.topVia()?.received == nil)
        #expect(try plain.topVia()?.rport == .absent)
        #expect(try plain.vias().count == 2)
        b.forceRport = true
        b.sourcePort = 7000
        let forced = try SIPMessage(bytes: b.build(for: req))
        #expect(try forced.topVia()?.received.map(str) == "192.0.2.9")
        #expect(try forced.topVia()?.rport == .value(7000))
        b.sourceAddress = Array("192.0.2.10".utf8)
        b.forceRport = false
        #expect(try SIPMessage(bytes: b.build(for: req)).topVia()?.received.map(str) == "192.0.2.10")
    }

    @Test("100 Trying gets no To tag; an existing To tag is kept")
    func tags() throws {
        let req = try message(sampleInvite)
        let trying = try SIPMessage(bytes: SIPReplyBuilder(statusCode: 100, reason: "Trying").build(for: req))
        #expect(try trying.to()?.tag == nil)
        let inDialog = try message(sampleInvite.replacingOccurrences(of: "To: Bob <sip:bob@biloxi.example.com>", with: "To: <sip:bob@b>;tag=known"))
        let ok = try SIPMessage(bytes: SIPReplyBuilder(statusCode: 200, reason: "OK").build(for: inDialog))
        #expect(try ok.to()?.tagString == "known")
        #expect(try ok.to()?.params.count == 1)
    }

    @Test("the generated To tag is stable for retransmissions and differs across requests")
    func toTag() throws {
        let a = SIPReplyBuilder.toTag(for: try message(sampleInvite))
        let again = SIPReplyBuilder.toTag(for: try message(sampleInvite))
        let other = SIPReplyBuilder.toTag(for: try message(sampleInvite.replacingOccurrences(of: "z9hG4bK776asdhds", with: "z9hG4bKother")))
        #expect(a == again)
        #expect(a != other)
        #expect(a.count == 16)
        #expect(a.allSatisfy { SIPASCII.hexValue($0) != nil })
        let built = try SIPMessage(bytes: SIPReplyBuilder(statusCode: 486, reason: "Busy").build(for: try message(sampleInvite)))
        #expect(try built.to()?.tag.map(Array.init) == a)
    }

    @Test("a reply to a broken request (two To, empty tag) is built without trapping")
    func brokenRequest() throws {
        let req = try SIPMessage(bytes: Fixtures.bytes("adversarial/cve-2018-14767-double-to-empty-tag.sip"))
        let e = try #require(rejection(req.bytes))
        let out = SIPReplyBuilder(statusCode: e.statusCode, reason: e.replyReasonPhrase).build(for: req)
        #expect(str(out).hasPrefix("SIP/2.0 400 Bad Request - Duplicate To\r\n"))
        let insuf = try SIPMessage(bytes: Fixtures.bytes("rfc4475/insuf.dat"))
        #expect(try SIPMessage(bytes: SIPReplyBuilder(statusCode: 400, reason: "Bad Request").build(for: insuf)).firstHeader(.callID) == nil)
    }

    @Test("response routing: not ours, local, and next hop by maddr, received+rport, sent-by")
    func routing() throws {
        func route(_ vias: String) throws -> SIPResponseRoute {
            let m = try message("SIP/2.0 200 OK\n\(vias)From: <sip:a@b>;tag=1\nTo: <sip:c@d>;tag=2\nCall-ID: x\nCSeq: 1 INVITE\n\n")
            return try m.responseRoute { $0.host.matches(address: Array("10.0.0.1".utf8)) }
        }
        let top = "Via: SIP/2.0/UDP 10.0.0.1;branch=z9hG4bKme\n"
        #expect(try route("Via: SIP/2.0/UDP 10.0.0.2;branch=z9hG4bKx\n") == .notOurs)
        if case .local = try route(top) {} else { Issue.record("expected local") }
        func target(_ next: String) throws -> (String, UInt16) {
            guard case .forward(_, let t) = try route(top + next) else { return ("", 0) }
            return (t.hostString, t.port)
        }
        #expect(try target("Via: SIP/2.0/UDP ua.example.com;branch=z9hG4bK1\n") == ("ua.example.com", 5060))
        #expect(try target("Via: SIP/2.0/TLS ua.example.com;branch=z9hG4bK1\n") == ("ua.example.com", 5061))
        #expect(try target("Via: SIP/2.0/UDP ua.example.com:5070;received=192.0.2.5;branch=z9hG4bK1\n") == ("192.0.2.5", 5070))
        #expect(try target("Via: SIP/2.0/UDP ua.example.com:5070;received=192.0.2.5;rport=40000;branch=z9hG4bK1\n") == ("192.0.2.5", 40000))
        #expect(try target("Via: SIP/2.0/UDP ua.example.com:5070;maddr=224.0.1.75;received=192.0.2.5\n") == ("224.0.1.75", 5070))
        #expect(try target("Via: SIP/2.0/UDP [2001:db8::5]:5080;branch=z9hG4bK1\n") == ("2001:db8::5", 5080))
        #expect(try target("Via: SIP/2.0/UDP x;received=[2001:db8::9];rport=9\n") == ("2001:db8::9", 9))
    }

    @Test("the top two Vias are the first two of vias(), whether comma-separated or on lines, parsed or not yet")
    func topTwoVias() throws {
        let cases = [
            "Via: SIP/2.0/UDP a;branch=z9hG4bK1\nVia: SIP/2.0/UDP b;branch=z9hG4bK2\nVia: SIP/2.0/UDP c\n",
            "Via: SIP/2.0/UDP a;branch=z9hG4bK1, SIP/2.0/UDP b;branch=z9hG4bK2\nVia: SIP/2.0/UDP c\n",
            "Via: SIP/2.0/UDP a;branch=z9hG4bK1\nContact: <sip:x@y>\nv: SIP/2.0/UDP b, SIP/2.0/UDP c\n",
            "Via: SIP/2.0/UDP a;branch=z9hG4bK1\n",
        ]
        for vias in cases {
            let text = "SIP/2.0 200 OK\n\(vias)From: <sip:a@b>;tag=1\nTo: <sip:c@d>;tag=2\nCall-ID: x\nCSeq: 1 INVITE\n\n"
            let all = try message(text).vias()
            for warm in 0..<3 {
                let m = try message(text)
                if warm == 1 { _ = try m.topVia() }
                if warm == 2 { _ = try m.vias() }
                let (top, second) = try #require(try m.topTwoVias())
                #expect(top == all[0])
                #expect(second == (all.count > 1 ? all[1] : nil), "\(vias) warm \(warm)")
            }
        }
        #expect(try message("SIP/2.0 200 OK\nCall-ID: x\n\n").topTwoVias() == nil)
        #expect(throws: SIPParseError.self) {
            try message("SIP/2.0 200 OK\nVia: SIP/2.0/UDP a\nVia: SIP/2.0/UDP\nCall-ID: x\n\n").topTwoVias()
        }
    }

    @Test("an existing received is overwritten; IPv6 sources are written without brackets")
    func receivedIPv6() throws {
        let req = try options(vias: "Via: SIP/2.0/UDP [2001:db8::1]:5060;received=192.0.2.1;rport;branch=z9hG4bK1\n")
        let b = ok(from: "2001:db8::2", port: 5070)
        let reply = try SIPMessage(bytes: b.build(for: req))
        let via = try #require(try reply.topVia())
        #expect(via.received.map(str) == "2001:db8::2")
        #expect(via.rport == .value(5070))
        #expect(via.params.count(named: "received") == 1)
        #expect(str(reply.bytes[via.range]) == "SIP/2.0/UDP [2001:db8::1]:5060;received=2001:db8::2;rport=5070;branch=z9hG4bK1")
        // The bracketed sent-by equals the bare source address: no received without rport.
        let plain = try options(vias: "Via: SIP/2.0/UDP [2001:DB8::2];branch=z9hG4bK1\n")
        #expect(try SIPMessage(bytes: b.build(for: plain)).topVia()?.received == nil)
    }

    @Test("a body replaces Content-Length 0 and carries its Content-Type")
    func replyBody() throws {
        var b = SIPReplyBuilder(statusCode: 200, reason: "OK")
        b.body = Array("hello".utf8)
        b.contentType = Array("text/plain".utf8)
        let reply = try SIPMessage(bytes: b.build(for: try message(sampleInvite)))
        #expect(str(reply.body) == "hello")
        #expect(try reply.contentLength() == 5)
        #expect(reply.contentType.map(str) == "text/plain")
    }
}

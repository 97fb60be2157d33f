import Testing
@testable import SIPCore

@Suite("Serializer edits")
struct SIPSerializerTests {
    let base = """
        INVITE sip:bob@b.example SIP/2.0
        Via: SIP/2.0/UDP p1.example;branch=z9hG4bK1, SIP/2.0/UDP p2.example;branch=z9hG4bK2
        Via: SIP/2.0/UDP p3.example;branch=z9hG4bK3
        From: <sip:a@a.example>;tag=1
        To: <sip:bob@b.example>
        Call-ID: c1
        CSeq: 1 INVITE
        Content-Length: 4

        body
        """

    @Test("without edits the original bytes come back unchanged")
    func identity() throws {
        let m = try message(base)
        #expect(m.serialize() == crlf(base))
    }

    @Test("leading CRLFs and bytes past Content-Length are not copied")
    func framing() throws {
        let m = try SIPMessage(bytes: crlf("\n" + base + "EXTRA"))
        #expect(m.serialize() == crlf(base))
    }

    @Test("add a header at the end, before and after a given field")
    func addHeader() throws {
        let m = try message(base)
        m.addHeader("X-End: 1")
        m.addHeader(Array("X-Before-To: 2".utf8), before: try #require(m.firstHeader(.to)))
        m.addHeader(Array("X-After-To: 3".utf8), after: try #require(m.firstHeader(.to)))
        let expected = base
            .replacingOccurrences(of: "To: <sip:bob@b.example>\n", with: "X-Before-To: 2\nTo: <sip:bob@b.example>\nX-After-To: 3\n")
            .replacingOccurrences(of: "Content-Length: 4\n", with: "Content-Length: 4\nX-End: 1\n")
        #expect(str(m.serialize()) == str(crlf(expected)))
    }

    @Test("remove a whole field and replace a value")
    func removeAndReplace() throws {
        let m = try message(base)
        m.removeHeader(m.headers(.via)[1])
        m.replaceValue(of: try #require(m.firstHeader(.callID)), with: Array("c2".utf8))
        let expected = base.replacingOccurrences(of: "Via: SIP/2.0/UDP p3.example;branch=z9hG4bK3\n", with: "")
            .replacingOccurrences(of: "Call-ID: c1", with: "Call-ID: c2")
        #expect(str(m.serialize()) == str(crlf(expected)))
    }

    @Test("remove one Via value from a comma list: first, last, only")
    func removeVia() throws {
        let m = try message(base)
        let vias = try m.vias()
        try m.removeVia(vias[0])
        #expect(str(m.serialize()).contains("Via: SIP/2.0/UDP p2.example;branch=z9hG4bK2\r\nVia: SIP/2.0/UDP p3"))
        let m2 = try message(base)
        try m2.removeVia(try m2.vias()[1])
        #expect(str(m2.serialize()).contains("Via: SIP/2.0/UDP p1.example;branch=z9hG4bK1\r\nVia: SIP/2.0/UDP p3"))
        let m3 = try message(base)
        try m3.removeVia(try m3.vias()[2])
        #expect(!str(m3.serialize()).contains("p3.example"))
        #expect(str(m3.serialize()).contains("z9hG4bK2\r\nFrom:"))
    }

    @Test("set the Request-URI and insert a new top Via")
    func uriAndVia() throws {
        let m = try message(base)
        m.setRequestURI(Array("sip:bob@10.0.0.2:5070".utf8))
        m.insertTopVia(Array("SIP/2.0/UDP proxy.example;branch=z9hG4bKnew".utf8))
        let out = try SIPMessage(bytes: m.serialize())
        #expect(str(out.requestURIBytes) == "sip:bob@10.0.0.2:5070")
        #expect(try out.vias().map { $0.host.description } == ["proxy.example", "p1.example", "p2.example", "p3.example"])
        try out.validateForProcessing()
    }

    @Test("replacing the body fixes Content-Length, or adds it when missing")
    func body() throws {
        let m = try message(base)
        m.replaceBody(Array("v=0\r\nnew body".utf8))
        let out = try SIPMessage(bytes: m.serialize())
        #expect(try out.contentLength() == 13)
        #expect(str(out.body) == "v=0\r\nnew body")
        let noCL = try message("OPTIONS sip:a@b SIP/2.0\nCall-ID: x\n\n")
        noCL.replaceBody(Array("abc".utf8))
        #expect(str(noCL.serialize()) == "OPTIONS sip:a@b SIP/2.0\r\nCall-ID: x\r\nContent-Length: 3\r\n\r\nabc")
    }

    @Test("two insertions at one offset keep their recording order, before a removal there")
    func sameOffset() throws {
        let m = try message(base)
        let to = try #require(m.firstHeader(.to))
        m.removeHeader(to)
        m.addHeader(Array("X-A: 1".utf8), before: to)
        m.addHeader(Array("X-B: 2".utf8), before: to)
        let expected = base.replacingOccurrences(of: "To: <sip:bob@b.example>\n", with: "X-A: 1\nX-B: 2\n")
        #expect(str(m.serialize()) == str(crlf(expected)))
    }

    @Test("an edit inside a removed range is dropped; others combine")
    func combinations() throws {
        let m = try message(base)
        let from = try #require(m.firstHeader(.from))
        m.removeHeader(from)
        m.replaceValue(of: from, with: Array("ignored".utf8))
        m.appendToValue(of: try #require(m.firstHeader(.to)), Array(";tag=xyz".utf8))
        try m.removeVia(try m.vias()[0])
        m.replaceBody(Array("ab".utf8))
        let out = try SIPMessage(bytes: m.serialize())
        #expect(out.firstHeader(.from) == nil)
        #expect(try out.to()?.tagString == "xyz")
        #expect(try out.vias().count == 2)
        #expect(str(out.body) == "ab")
        #expect(try out.contentLength() == 2)
        m.edits.removeAll()
        #expect(m.serialize() == crlf(base))
    }

    @Test("removing the middle value of three keeps both neighbours and one comma between them")
    func removeMiddle() throws {
        let m = try message("OPTIONS sip:a@b SIP/2.0\nVia: SIP/2.0/UDP a;branch=z9hG4bK1 ,SIP/2.0/UDP b;branch=z9hG4bK2,  SIP/2.0/UDP c;branch=z9hG4bK3\n\n")
        try m.removeVia(try m.vias()[1])
        #expect(str(m.serialize()) == "OPTIONS sip:a@b SIP/2.0\r\nVia: SIP/2.0/UDP a;branch=z9hG4bK1,  SIP/2.0/UDP c;branch=z9hG4bK3\r\n\r\n")
        let again = try SIPMessage(bytes: m.serialize())
        #expect(try again.vias().map(\.host.description) == ["a", "c"])
    }

    @Test("a folded header is removed with all its continuation lines")
    func removeFolded() throws {
        let m = try message("OPTIONS sip:a@b SIP/2.0\nSubject: one\n two\n\tthree\nCall-ID: x\n\n")
        m.removeHeader(try #require(m.firstHeader(.subject)))
        #expect(str(m.serialize()) == "OPTIONS sip:a@b SIP/2.0\r\nCall-ID: x\r\n\r\n")
    }

    @Test("LF-only messages keep their bytes; added lines use CRLF")
    func bareLF() throws {
        let m = try SIPMessage(bytes: Array("OPTIONS sip:a@b SIP/2.0\nCall-ID: x\n\n".utf8))
        m.addHeader("X: 1")
        #expect(str(m.serialize()) == "OPTIONS sip:a@b SIP/2.0\nCall-ID: x\nX: 1\r\n\n")
    }
}

@Suite("Serializer edit order")
struct SIPSerializerOrderTests {
    @Test("edits recorded in message order and out of order give the same bytes")
    func orderIndependent() throws {
        let text = "BYE sip:b@b.example SIP/2.0\r\nVia: SIP/2.0/UDP a.example;branch=z9hG4bK1\r\nCSeq: 2 BYE\r\nContent-Length: 0\r\n\r\n"
        let inOrder = try SIPMessage(bytes: Array(text.utf8))
        let reversed = try SIPMessage(bytes: Array(text.utf8))
        let via = try #require(inOrder.firstHeader(.via))
        let cseq = try #require(inOrder.firstHeader(.cseq))
        inOrder.insertTopVia(Array("SIP/2.0/UDP p.example;branch=z9hG4bKx".utf8))
        inOrder.addHeader(Array("X-A: 1".utf8), after: via)
        inOrder.addHeader(Array("X-B: 2".utf8), after: cseq)
        reversed.addHeader(Array("X-B: 2".utf8), after: try #require(reversed.firstHeader(.cseq)))
        reversed.addHeader(Array("X-A: 1".utf8), after: try #require(reversed.firstHeader(.via)))
        reversed.insertTopVia(Array("SIP/2.0/UDP p.example;branch=z9hG4bKx".utf8))
        let expected = "BYE sip:b@b.example SIP/2.0\r\nVia: SIP/2.0/UDP p.example;branch=z9hG4bKx\r\n"
            + "Via: SIP/2.0/UDP a.example;branch=z9hG4bK1\r\nX-A: 1\r\nCSeq: 2 BYE\r\nX-B: 2\r\nContent-Length: 0\r\n\r\n"
        #expect(String(decoding: inOrder.serialize(), as: UTF8.self) == expected)
        #expect(String(decoding: reversed.serialize(), as: UTF8.self) == expected)
    }
}

@Suite("Serializer edit rewrite")
struct SIPSerializerRewriteTests {
    @Test("rewrite takes the recording index even when edits are kept in another order")
    func rewriteByRecordingIndex() throws {
        let text = "BYE sip:b@b.example SIP/2.0\r\nVia: SIP/2.0/UDP a.example;branch=z9hG4bK1\r\nCSeq: 2 BYE\r\n\r\n"
        let m = try SIPMessage(bytes: Array(text.utf8))
        let cseq = try #require(m.firstHeader(.cseq))
        m.addHeader(Array("X-B: 2".utf8), after: cseq)  // index 0, applied last
        m.insertTopVia(Array("SIP/2.0/UDP p.example;branch=z9hG4bKx".utf8))  // index 1, applied first
        m.edits.rewrite(0, with: Array("X-B: 3\r\n".utf8))
        m.edits.rewrite(7, with: Array("ignored".utf8))
        let expected = "BYE sip:b@b.example SIP/2.0\r\nVia: SIP/2.0/UDP p.example;branch=z9hG4bKx\r\n"
            + "Via: SIP/2.0/UDP a.example;branch=z9hG4bK1\r\nCSeq: 2 BYE\r\nX-B: 3\r\n\r\n"
        #expect(String(decoding: m.serialize(), as: UTF8.self) == expected)
        m.edits.removeAll()
        m.addHeader(Array("X-C: 1".utf8), after: cseq)
        m.edits.rewrite(0, with: Array("X-C: 2\r\n".utf8))
        #expect(String(decoding: m.serialize(), as: UTF8.self) == text.replacingOccurrences(of: "BYE\r\n\r\n", with: "BYE\r\nX-C: 2\r\n\r\n"))
    }
}

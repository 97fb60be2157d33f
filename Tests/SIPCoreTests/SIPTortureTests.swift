import Testing
@testable import SIPCore

/// RFC 4475 messages that are not in the fixture corpus, rebuilt from the RFC text
/// (control bytes written as escapes).
@Suite("RFC 4475 messages beyond the fixtures")
struct SIPTortureTests {
    static let intmeth: [UInt8] = {
        var text = "!interesting-Method0123456789_*+`.%indeed'~ sip:1_unusual.URI~(to-be!sure)&isn't+it$/crazy?,/;;*:&it+has=1,weird!*pas$wo~d_too.(doesn't-it)@example.com SIP/2.0\n"
        text += "Via: SIP/2.0/TCP host1.example.com;branch=z9hG4bK-.!%66*_+`'~\n"
        text += "To: \"BEL:\\\u{07} NUL:\\\u{00} DEL:\\\u{7F}\" <sip:1_unusual.URI~(to-be!sure)&isn't+it$/crazy?,/;;*@example.com>\n"
        text += "From: token1~` token2'+_ token3*%!.- <sip:mundane@example.com>;fromParam''~+*_!.-%=\"\u{0440}\u{0430}\u{0431}\u{043E}\u{0442}\u{0430}\u{044E}\u{0449}\u{0438}\u{0439}\";tag=_token~1'+`*%!-.\n"
        text += "Call-ID: intmeth.word%ZK-!.*_+'@word`~)(><:\\/\"][?}{\n"
        text += "CSeq: 139122385 !interesting-Method0123456789_*+`.%indeed'~\n"
        text += "Max-Forwards: 255\n"
        text += "extensionHeader-!.%*+_`'~: \u{FEFF}\u{5927}\u{505C}\u{96FB}\n"
        text += "Content-Length: 0\n\n"
        return SIPBytes.wireFormat(text)
    }()

    @Test("intmeth: odd method, URI user and password, escaped control bytes in a display name")
    func intmeth() throws {
        let m = try SIPMessage(bytes: Self.intmeth)
        try m.validateForProcessing()
        #expect(m.method == .other)
        #expect(str(m.methodBytes) == "!interesting-Method0123456789_*+`.%indeed'~")
        let uri = try m.requestURI
        #expect(str(uri.user ?? []) == "1_unusual.URI~(to-be!sure)&isn't+it$/crazy?,/;;*")
        #expect(str(uri.password ?? []) == "&it+has=1,weird!*pas$wo~d_too.(doesn't-it)")
        #expect(uri.hostString == "example.com")
        #expect(try m.topVia()?.branchString == "z9hG4bK-.!%66*_+`'~")
        let to = try #require(try m.to())
        #expect(to.displayName == "BEL:\u{07} NUL:\u{00} DEL:\u{7F}")
        #expect(to.uri.userString == "1_unusual.URI~(to-be!sure)&isn't+it$/crazy?,/;;*")
        let from = try #require(try m.from())
        #expect(from.displayName == "token1~` token2'+_ token3*%!.-")
        #expect(from.tagString == "_token~1'+`*%!-.")
        #expect(from.params.first?.nameString == "fromParam''~+*_!.-%")
        #expect(m.callIDString == "intmeth.word%ZK-!.*_+'@word`~)(><:\\/\"][?}{")
        #expect(m.headers(named: "EXTENSIONHEADER-!.%*+_`'~").count == 1)
    }

    @Test("escnull: escaped NULs in URIs are legal and decode")
    func escnull() throws {
        let m = try message("""
            REGISTER sip:example.com SIP/2.0
            To: sip:null-%00-null@example.com
            From: sip:null-%00-null@example.com;tag=839923423
            Max-Forwards: 70
            Call-ID: escnull.39203ndfvkjdasfkq3w4otrq0adsfdfnavd
            CSeq: 14398234 REGISTER
            Via: SIP/2.0/UDP host5.example.com;branch=z9hG4bKkdjuw
            Contact: <sip:%00@host5.example.com>
            Contact: <sip:%00%00@host5.example.com>
            L:0


            """)
        try m.validateForProcessing()
        #expect(try m.to()?.uri.decodedUser == Array("null-\u{0}-null".utf8))
        #expect(try m.contacts()?.addresses.map { $0.uri.decodedUser ?? [] } == [[0], [0, 0]])
    }

    @Test("esc02: % that is not an escape in the method and a quoted display name")
    func esc02() throws {
        let m = try message("""
            RE%47IST%45R sip:registrar.example.com SIP/2.0
            To: "%Z%45" <sip:resource@example.com>
            From: "%Z%45" <sip:resource@example.com>;tag=f232jadfj23
            Call-ID: esc02.asdfnqwo34rq23i34jrjasdcnl23nrlknsdf
            Via: SIP/2.0/TCP host.example.com;rport;branch=z9hG4bK209asdjf
            CSeq: 29344 RE%47IST%45R
            Max-Forwards: 70
            Contact: <sip:alias1@host1.example.com>
            C%6Fntact: <sip:alias2@host2.example.com>
            Contact: <sip:alias3@host3.example.com>
            l: 0


            """)
        try m.validateForProcessing()
        #expect(m.method == .other)
        #expect(try m.to()?.displayName == "%Z%45")
        #expect(try m.contacts()?.addresses.count == 2)
        #expect(m.headers(named: "C%6Fntact").count == 1)
    }

    @Test("semiuri and noreason parse; trailing and embedded whitespace in the start line do not")
    func startLines() throws {
        let semi = try message("OPTIONS sip:user;par=u%40example.net@example.com SIP/2.0\nTo: sip:j_user@example.com\n\n")
        #expect(try str(semi.requestURI.user ?? []) == "user;par=u%40example.net")
        #expect(try semi.requestURI.hostString == "example.com")
        let noreason = try message("SIP/2.0 100 \nTo: <sip:a@b>\n\n")
        #expect(noreason.statusCode == 100)
        #expect(noreason.reasonPhrase.isEmpty)
        #expect(throws: SIPParseError.self) { try message("OPTIONS sip:user@example.com SIP/2.0 \n\n") }
        #expect(throws: SIPParseError.self) { try message("INVITE sip:user@example.com; lr SIP/2.0\n\n") }
        #expect(throws: SIPParseError.self) { try message("SIP/2.0 4294967301 better not break the receiver\n\n") }
    }

    static func request(_ firstLine: String, _ extra: String = "", method: String = "OPTIONS") -> [UInt8] {
        crlf("\(firstLine)\nVia: SIP/2.0/UDP h.example.com;branch=z9hG4bK1\nFrom: <sip:a@b>;tag=1\nTo: <sip:c@d>\nCall-ID: x\nCSeq: 1 \(method)\nMax-Forwards: 70\n\(extra)\n")
    }

    @Test("badvers: another SIP version is 505, not 400")
    func badvers() {
        let bytes = Self.request("OPTIONS sip:t.watson@example.org SIP/7.0")
        let e = rejection(bytes)
        #expect(e?.statusCode == 505)
        // The message itself parses, so the 505 can be built from it.
        let m = try? SIPMessage(bytes: bytes)
        #expect(m?.hasUnsupportedVersion == true)
        #expect(m.map { str(SIPReplyBuilder(statusCode: 505, reason: "Version Not Supported").build(for: $0).prefix(40)) }
                == "SIP/2.0 505 Version Not Supported\r\nVia: ")
        #expect(e?.replyReasonPhrase == "Version Not Supported")
        #expect(rejection(Self.request("OPTIONS sip:t.watson@example.org SIP/7"))?.statusCode == 400)
    }

    @Test("escruri and regbadct: URI headers in the Request-URI or in an unbracketed Contact")
    func uriHeaders() {
        #expect(rejection(Self.request("INVITE sip:user@example.com?Route=%3Csip:example.com%3E SIP/2.0", method: "INVITE"))?.reason
                == "Headers in Request-URI")
        #expect(rejection(Self.request("REGISTER sip:example.com SIP/2.0", "Contact: sip:user@example.com?Route=%3Csip:sip.example.com%3E\n", method: "REGISTER"))?.reason
                == "URI with headers needs <>")
        #expect(rejection(Self.request("REGISTER sip:example.com SIP/2.0", "Contact: <sip:user@example.com?Route=%3Csip:sip.example.com%3E>\n", method: "REGISTER")) == nil)
    }

    @Test("mcl01, multi01, scalar02, quotbal, baddn are rejected")
    func invalidOnes() {
        #expect(rejection(Self.request("OPTIONS sip:user@example.com SIP/2.0", "Content-Length: 0\nContent-Length: 0\n"))?.reason == "Duplicate Content-Length")
        #expect(rejection(Self.request("OPTIONS sip:user@example.com SIP/2.0", "Call-ID: y\n"))?.reason == "Duplicate Call-ID")
        #expect(rejection(crlf("REGISTER sip:example.com SIP/2.0\nVia: SIP/2.0/TCP h;branch=z9hG4bK3\nTo: <sip:user@example.com>\nFrom: <sip:user@example.com>;tag=2\nCSeq: 36893488147419103232 REGISTER\nCall-ID: s\nMax-Forwards: 300\nExpires: 1022039200000000000000000000\n\n"))?.reason == "Malformed CSeq")
        #expect(rejection(crlf("INVITE sip:user@example.com SIP/2.0\nVia: SIP/2.0/UDP h;branch=z9hG4bK3\nTo: \"Mr. J. User <sip:j.user@example.com>\nFrom: <sip:a@b>;tag=2\nCSeq: 1 INVITE\nCall-ID: q\n\n"))?.reason == "Unterminated quoted string")
        #expect(rejection(crlf("OPTIONS sip:user@example.com SIP/2.0\nVia: SIP/2.0/UDP h;branch=z9hG4bK3\nTo: <sip:a@b>\nFrom: Bell, Alexander <sip:a.g.bell@bell-tel.com>;tag=43\nCSeq: 1 OPTIONS\nCall-ID: q\n\n")) != nil)
    }

    @Test("raw control bytes in a header are rejected, escaped ones and body bytes are not")
    func controlBytes() {
        #expect(rejection(Self.request("OPTIONS sip:a@b SIP/2.0", "Subject: a\u{7F}b\n"))?.reason == "Control character in header")
        #expect(rejection(Self.request("OPTIONS sip:a@b SIP/2.0", "Subject: a\u{01}b\n"))?.reason == "Control character in header")
        #expect(rejection(Self.request("OPTIONS sip:a@b SIP/2.0", "Subject: \"a\\\u{01}b\"\n")) == nil)
        #expect(rejection(Self.request("OPTIONS sip:a@b SIP/2.0", "Subject: tab\there\n")) == nil)
        var withBody = Self.request("OPTIONS sip:a@b SIP/2.0", "Content-Length: 3\n")
        withBody += [0, 1, 0x7f]
        #expect(rejection(withBody) == nil)
    }
}

import Testing
@testable import SIPCore

@Suite("Message framing and header index")
struct SIPMessageTests {
    @Test("request line, headers and body of a typical INVITE")
    func invite() throws {
        let m = try message(sampleInvite)
        try m.validateForProcessing()
        #expect(m.isRequest)
        #expect(m.method == .invite)
        #expect(str(m.requestURIBytes) == "sip:bob@biloxi.example.com")
        #expect(m.headers.count == 9)
        #expect(m.headers.map(\.index) == Array(0..<9))
        #expect(try m.cseq()?.number == 314159)
        #expect(try m.to()?.displayName == "Bob")
        #expect(str(m.contentType ?? []) == "application/sdp")
        #expect(str(m.body) == "v=0\r\no=x 1 1")
        #expect(m.hasHeaderTerminator)
    }

    @Test("methods are case-sensitive tokens")
    func methods() throws {
        #expect(try message("invite sip:a@b SIP/2.0\n\n").method == .other)
        #expect(try message("FOO sip:a@b SIP/2.0\n\n").method == .other)
        for method in SIPMethod.allCases where method != .other {
            #expect(try message("\(method.name) sip:a@b SIP/2.0\n\n").method == method)
        }
    }

    @Test("status lines give code and reason; malformed start lines are rejected")
    func startLines() throws {
        let r = try message("SIP/2.0 486 Busy Here\n\n")
        #expect(!r.isRequest)
        #expect(r.statusCode == 486)
        #expect(str(r.reasonPhrase) == "Busy Here")
        #expect(r.method == .other)
        #expect(try message("INVITE sip:a@b SIP/3.0\n\n").hasUnsupportedVersion)
        #expect(try !message("INVITE sip:a@b sip/2.0\n\n").hasUnsupportedVersion)
        for bad in ["SIP/2.0 20 OK\n\n", "SIP/2.0 099 x\n\n", "INVITE sip:a@b SIP/3\n\n", "INVITE sip:a@b SIP/.0\n\n",
                    "INVITE sip:a@b\n\n", "INVITE  sip:a@b SIP/2.0\n\n", "INVITE sip:a@b  SIP/2.0\n\n",
                    "\u{1}NVITE sip:a@b SIP/2.0\n\n", "INVITE\n\n"] {
            #expect(throws: SIPParseError.self, "\(bad)") { try message(bad) }
        }
    }

    @Test("compact forms and any case map to the same kind")
    func compactForms() throws {
        let letters: [(String, SIPHeaderKind)] = [
            ("i", .callID), ("m", .contact), ("e", .contentEncoding), ("l", .contentLength),
            ("c", .contentType), ("f", .from), ("s", .subject), ("k", .supported), ("t", .to),
            ("v", .via), ("o", .event), ("u", .allowEvents), ("r", .referTo), ("b", .referredBy),
            ("x", .sessionExpires), ("y", .identity),
        ]
        for (letter, kind) in letters {
            #expect(SIPHeaderKind(name: letter) == kind, "\(letter)")
            #expect(SIPHeaderKind(name: letter.uppercased()) == kind, "\(letter)")
            #expect(kind.compactForm == Character(letter))
            #expect(SIPHeaderKind(name: kind.canonicalName.uppercased()) == kind)
        }
        for kind in SIPHeaderKind.allCases where kind != .other {
            #expect(SIPHeaderKind(name: kind.canonicalName) == kind, "\(kind)")
            #expect(SIPHeaderKind(name: kind.canonicalName.lowercased()) == kind, "\(kind)")
            #expect(SIPHeaderKind(name: kind.canonicalName + "x") == .other, "\(kind)")
            if kind.canonicalName.count > 2 {  // "T" is the compact form of To
                #expect(SIPHeaderKind(name: String(kind.canonicalName.dropLast())) != kind, "\(kind)")
            }
        }
        #expect(SIPHeaderKind(name: "Reply-To") == .replyTo)
        #expect(SIPHeaderKind(name: "Refer-To") == .referTo)
        #expect(SIPHeaderKind(name: "") == .other)
        #expect(SIPHeaderKind(name: "cAlL-iD") == .callID)
        #expect(SIPHeaderKind(name: "X-Custom") == .other)
        let m = try message("OPTIONS sip:a@b SIP/2.0\ni: one\nCall-ID: two\nX-A: 1\nx-a: 2\n\n")
        #expect(m.headers(named: "CALL-ID").count == 2)
        #expect(m.headers(named: "i").count == 2)
        #expect(m.headers(named: "X-a").map { str(m.value(of: $0)) } == ["1", "2"])
    }

    @Test("folded values stay raw and unfold on read; unfolding 5000 lines is linear")
    func folding() throws {
        let m = try message("OPTIONS sip:a@b SIP/2.0\nSubject: one\n  two\n\tthree  \nX: y\n\n")
        let f = try #require(m.firstHeader(.subject))
        #expect(str(m.value(of: f)) == "one\r\n  two\r\n\tthree")
        #expect(m.stringValue(of: f) == "one two three")
        #expect(str(m.bytes[f.line]) == "Subject: one\r\n  two\r\n\tthree  \r\n")
        var text = "OPTIONS sip:a@b SIP/2.0\nSubject: start\n"
        for _ in 0..<5000 { text += " w\n" }
        text += "\n"
        let big = try message(text)
        let clock = ContinuousClock()
        var unfolded: [UInt8] = []
        let t = clock.measure { unfolded = big.unfoldedValue(of: big.headers[0]) }
        #expect(unfolded.count == 5 + 5000 * 2)
        #expect(t < .milliseconds(100))
    }

    @Test("a folded line before any header is an error")
    func foldFirst() {
        #expect(throws: SIPParseError.self) { try message("OPTIONS sip:a@b SIP/2.0\n continued\n\n") }
    }

    @Test("header name whitespace before the colon is allowed; a missing colon is not")
    func hcolon() throws {
        let m = try message("OPTIONS sip:a@b SIP/2.0\nCall-ID \t : abc\nTO\t:<sip:a@b>\n\n")
        #expect(m.callIDString == "abc")
        #expect(try m.to()?.uri.hostString == "b")
        #expect(throws: SIPParseError.self) { try message("OPTIONS sip:a@b SIP/2.0\nCall-ID abc\n\n") }
        #expect(throws: SIPParseError.self) { try message("OPTIONS sip:a@b SIP/2.0\n: abc\n\n") }
    }

    @Test("LF-only line ends and leading CRLFs are tolerated")
    func lineEnds() throws {
        let m = try SIPMessage(bytes: Array("\r\n\r\nOPTIONS sip:a@b SIP/2.0\nCall-ID: x\n\nbody".utf8))
        #expect(m.leadingBytesSkipped == 4)
        #expect(m.callIDString == "x")
        #expect(str(m.body) == "body")
    }

    @Test("limits: 65535 bytes, 512 header fields (513 beyond)")
    func limits() throws {
        let tooBig = [UInt8](repeating: 65, count: 65536)
        #expect(throws: SIPParseError.messageTooLarge) { try SIPMessage(bytes: tooBig) }
        var many = "OPTIONS sip:a@b SIP/2.0\n"
        for i in 0..<512 { many += "X-\(i): v\n" }
        #expect(try message(many + "\n").headers.count == 512)
        do {
            _ = try message(many + "X-Last: v\n\n")
            Issue.record("513 expected")
        } catch {
            #expect((error as? SIPParseError)?.statusCode == 513)
        }
    }

    @Test("Max-Forwards above 255 reads as 255; Expires saturates at 2^32-1")
    func saturating() throws {
        #expect(try message("OPTIONS sip:a@b SIP/2.0\nMax-Forwards: 70000000000000000000000\n\n").maxForwards() == 255)
        #expect(try message("OPTIONS sip:a@b SIP/2.0\nMax-Forwards: 0068\n\n").maxForwards() == 68)
        #expect(try message("OPTIONS sip:a@b SIP/2.0\nExpires: 4294967296\n\n").expires() == 4294967295)
        #expect(throws: SIPParseError.self) { try message("OPTIONS sip:a@b SIP/2.0\nExpires: -1\n\n").expires() }
        #expect(throws: SIPParseError.self) { try message("OPTIONS sip:a@b SIP/2.0\nMax-Forwards: \n\n").maxForwards() }
    }

    @Test("Content-Length truncates a longer datagram body; numbers never wrap")
    func contentLength() throws {
        let m = try message("OPTIONS sip:a@b SIP/2.0\nContent-Length: 3\n\nabcdef")
        #expect(str(m.body) == "abc")
        #expect(m.messageEnd == m.bodyStart + 3)
        #expect(throws: SIPParseError.self) { try message("OPTIONS sip:a@b SIP/2.0\nl: 4294967296\n\n").contentLength() }
        #expect(throws: SIPParseError.self) { try message("OPTIONS sip:a@b SIP/2.0\nl: -1\n\n").contentLength() }
        #expect(try message("OPTIONS sip:a@b SIP/2.0\n\n").contentLength() == nil)
    }

    @Test("comma splitting respects quotes and angle brackets")
    func commaSplit() throws {
        let m = try message("OPTIONS sip:a@b SIP/2.0\nContact: \"a,b\" <sip:x@y;p=1,2>, <sip:z@w> ,sip:q@r\n\n")
        let parts = try m.commaSeparatedValues(of: m.headers[0]).map(str)
        #expect(parts == ["\"a,b\" <sip:x@y;p=1,2>", "<sip:z@w>", "sip:q@r"])
        let bad = try message("OPTIONS sip:a@b SIP/2.0\nContact: \"a, <sip:x@y>\n\n")
        #expect(throws: SIPParseError.self) { try bad.commaSeparatedValues(of: bad.headers[0]) }
    }

    @Test("validation: CSeq range and method, Max-Forwards, Expires, Contact star")
    func validation() throws {
        func reason(_ extra: String, method: String = "OPTIONS", cseq: String = "1 OPTIONS") -> String? {
            let text = "\(method) sip:a@b SIP/2.0\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\nFrom: <sip:a@b>;tag=1\nTo: <sip:c@d>\nCall-ID: x\nCSeq: \(cseq)\n\(extra)\n"
            return rejection(crlf(text))?.reason
        }
        #expect(reason("") == nil)
        #expect(reason("", cseq: "2147483647 OPTIONS") == nil)
        #expect(reason("", cseq: "2147483648 OPTIONS") == "Malformed CSeq")
        #expect(reason("", cseq: "1 INVITE") == "CSeq method does not match request method")
        #expect(reason("", cseq: "1") == "Malformed CSeq")
        #expect(reason("Max-Forwards: 256\n") == nil)
        #expect(reason("Max-Forwards: 7x\n") == "Malformed Max-Forwards")
        #expect(reason("Expires: 99999999999999999999999\n") == nil)
        #expect(reason("Expires: soon\n") == "Malformed Expires")
        #expect(reason("Contact: *\nExpires: 0\n", method: "REGISTER", cseq: "1 REGISTER") == nil)
        #expect(reason("Contact: *\nExpires: 10\n", method: "REGISTER", cseq: "1 REGISTER") == "Contact * requires Expires: 0")
        #expect(reason("From: <sip:e@f>\n") == "Duplicate From")
        #expect(reason("Content-Length: 5\n") == "Content-Length larger than body")
        #expect(reason("Authorization: Digest realm=\"x\n") == "Unterminated quoted string")
        #expect(reason("Subject: a lone \" is fine here\n") == nil)
    }

    @Test("responses need Via, From, To, Call-ID and CSeq")
    func responseValidation() throws {
        let ok = "SIP/2.0 200 OK\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\nFrom: <sip:a@b>;tag=1\nTo: <sip:c@d>;tag=2\nCall-ID: x\nCSeq: 1 INVITE\n\n"
        #expect(rejection(crlf(ok)) == nil)
        let noCSeq = ok.replacingOccurrences(of: "CSeq: 1 INVITE\n", with: "")
        #expect(rejection(crlf(noCSeq))?.reason == "Missing CSeq")
    }
}
